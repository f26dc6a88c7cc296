DROP TABLE lead_form_confirmations;
DROP TABLE lead_forms;
