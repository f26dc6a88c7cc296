//! A real SMTP server on loopback (mailin-embedded) that records what it receives and can be
//! told to answer 4xx or 5xx, or to refuse one recipient.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use mailin_embedded::response::{INTERNAL_ERROR, NO_MAILBOX, OK, START_DATA, TRANSACTION_FAILED};
use mailin_embedded::{Handler, Response, Server, SslConfig};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpMode {
    Accept,
    /// 451 to every message: a transient failure.
    TemporaryFailure,
    /// 554 to every message: a permanent failure.
    PermanentFailure,
}

/// A message as received: its recipients and its decoded text.
#[derive(Debug, Clone)]
pub struct ReceivedEmail {
    pub to: Vec<String>,
    pub message_id: String,
    pub subject: String,
    pub body: String,
}

#[derive(Debug)]
struct State {
    mode: SmtpMode,
    refused_recipients: Vec<String>,
    received: Vec<ReceivedEmail>,
    attempts: usize,
}

#[derive(Clone)]
struct Recorder {
    state: Arc<Mutex<State>>,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Recorder {
    fn rcpt(&mut self, to: &str) -> Response {
        let state = self.state.lock().expect("smtp state");
        if state.refused_recipients.iter().any(|refused| refused == to) {
            return NO_MAILBOX;
        }
        self.to.push(to.to_owned());
        OK
    }

    fn data_start(
        &mut self,
        _domain: &str,
        _from: &str,
        _is8bit: bool,
        _to: &[String],
    ) -> Response {
        let mut state = self.state.lock().expect("smtp state");
        state.attempts += 1;
        match state.mode {
            SmtpMode::Accept => START_DATA,
            SmtpMode::TemporaryFailure => INTERNAL_ERROR,
            SmtpMode::PermanentFailure => TRANSACTION_FAILED,
        }
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let raw = std::mem::take(&mut self.data);
        let parsed = mail_parser::MessageParser::default().parse(&raw);
        let email = ReceivedEmail {
            to: std::mem::take(&mut self.to),
            message_id: parsed
                .as_ref()
                .and_then(|m| m.message_id())
                .unwrap_or_default()
                .to_owned(),
            subject: parsed
                .as_ref()
                .and_then(|m| m.subject())
                .unwrap_or_default()
                .to_owned(),
            body: parsed
                .as_ref()
                .and_then(|m| m.body_text(0))
                .map(|body| body.into_owned())
                .unwrap_or_default(),
        };
        self.state.lock().expect("smtp state").received.push(email);
        OK
    }
}

#[derive(Clone)]
pub struct TestSmtp {
    pub port: u16,
    state: Arc<Mutex<State>>,
}

impl TestSmtp {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("an SMTP port");
        let port = listener.local_addr().expect("a local address").port();
        let state = Arc::new(Mutex::new(State {
            mode: SmtpMode::Accept,
            refused_recipients: Vec::new(),
            received: Vec::new(),
            attempts: 0,
        }));
        let recorder = Recorder {
            state: Arc::clone(&state),
            to: Vec::new(),
            data: Vec::new(),
        };
        let mut server = Server::new(recorder);
        server
            .with_name("smtp.test")
            .with_ssl(SslConfig::None)
            .expect("plain SMTP")
            .with_num_threads(2)
            .with_tcp_listener(listener);
        std::thread::spawn(move || {
            if let Err(err) = server.serve() {
                eprintln!("test SMTP server stopped: {err}");
            }
        });
        Self { port, state }
    }

    pub fn url(&self) -> url::Url {
        url::Url::parse(&format!("smtp://127.0.0.1:{}", self.port)).expect("smtp url")
    }

    pub fn set_mode(&self, mode: SmtpMode) {
        self.state.lock().expect("smtp state").mode = mode;
    }

    pub fn refuse_recipient(&self, address: &str) {
        self.state
            .lock()
            .expect("smtp state")
            .refused_recipients
            .push(address.to_owned());
    }

    pub fn received(&self) -> Vec<ReceivedEmail> {
        self.state.lock().expect("smtp state").received.clone()
    }

    pub fn received_by(&self, address: &str) -> Vec<ReceivedEmail> {
        self.received()
            .into_iter()
            .filter(|email| email.to.iter().any(|to| to == address))
            .collect()
    }

    /// How many messages were offered (DATA commands), accepted or not.
    pub fn attempts(&self) -> usize {
        self.state.lock().expect("smtp state").attempts
    }
}
