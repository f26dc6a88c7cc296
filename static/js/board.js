// The pipeline board: drag a deal card to another column, or onto Won or Lost.
//
// Two ways to drag feed the same drop: native HTML5 drag and drop, and pointer events.
// A mouse moved by hand starts a native drag after a few pixels. Input that arrives in
// jumps (WebDriver's synthetic mouse, some pens) moves past the pointer threshold first;
// then the native drag is refused in `dragstart`, because in Chromium a native drag started
// by synthetic input never delivers `dragover`/`drop`, while pointer events do arrive.
//
// A drop posts `POST /deals/{id}/move` with the CSRF token, the card's version and the
// target stage (or status); the server answers with the updated card and column headers,
// which replace the elements with the same ids. On a refusal (someone else moved the deal,
// no right to move it, no reason for a loss) the card goes back and the reason is shown.
// Without JavaScript every card keeps its "Move" form.
(function () {
  "use strict";

  var board = document.getElementById("board");
  if (!board) {
    return;
  }
  var token = board.getAttribute("data-csrf-token") || "";
  var boardOwner = board.getAttribute("data-owner") || "";
  var outcomes = document.getElementById("board-outcomes");
  var toast = document.getElementById("board-toast");
  var lostDialog = document.getElementById("lost-dialog");
  var toastTimer = null;
  var DRAG_THRESHOLD = 6;

  // ---- feedback -------------------------------------------------------------------------

  function say(message, tone) {
    if (!toast) {
      return;
    }
    toast.textContent = message;
    toast.className = "board-toast visible" + (tone ? " " + tone : "");
    if (toastTimer) {
      clearTimeout(toastTimer);
    }
    toastTimer = setTimeout(function () {
      toast.className = "board-toast";
    }, 5000);
  }

  function refreshEmptyColumns() {
    var lists = board.querySelectorAll("[data-drop-stage]");
    for (var i = 0; i < lists.length; i++) {
      var list = lists[i];
      var hasCards = list.querySelector(".deal-card") !== null;
      var placeholder = list.querySelector(".board-empty");
      if (hasCards && placeholder) {
        placeholder.parentNode.removeChild(placeholder);
      } else if (!hasCards && !placeholder) {
        var empty = document.createElement("p");
        empty.className = "board-empty";
        empty.textContent = "No deals in this stage";
        list.appendChild(empty);
      }
    }
  }

  // ---- talking to the server ------------------------------------------------------------

  function messageOf(html, status) {
    var holder = document.createElement("template");
    holder.innerHTML = html || "";
    var message = holder.content.querySelector(".board-message");
    if (message && message.textContent) {
      return message.textContent;
    }
    if (status === 409) {
      return "Someone else changed this deal in the meantime. Reload to see where it is now.";
    }
    if (status === 403) {
      return "You may only move your own deals.";
    }
    return "The deal could not be moved. Reload the page and try again.";
  }

  // Replaces every element of the answer that has an id with the page's element of the same id.
  function applyFragment(html) {
    var holder = document.createElement("template");
    holder.innerHTML = html;
    var parts = holder.content.querySelectorAll("[id]");
    for (var i = 0; i < parts.length; i++) {
      var part = parts[i];
      if (part.parentNode !== holder.content) {
        continue;
      }
      var current = document.getElementById(part.id);
      if (current) {
        part.removeAttribute("hx-swap-oob");
        current.parentNode.replaceChild(part, current);
      }
    }
  }

  function postMove(card, fields, undo) {
    var body = new URLSearchParams();
    body.set("csrf_token", token);
    body.set("version", card.getAttribute("data-version") || "");
    body.set("board_owner", boardOwner);
    Object.keys(fields).forEach(function (name) {
      body.set(name, fields[name]);
    });
    card.classList.add("is-saving");
    return fetch("/deals/" + card.getAttribute("data-deal-id") + "/move", {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-CSRF-Token": token,
        "HX-Request": "true"
      },
      body: body.toString()
    })
      .then(function (response) {
        return response.text().then(function (text) {
          return { ok: response.ok, status: response.status, text: text };
        });
      })
      .then(function (answer) {
        card.classList.remove("is-saving");
        if (!answer.ok) {
          undo();
          say(messageOf(answer.text, answer.status), "error");
          refreshEmptyColumns();
          return false;
        }
        var id = card.id;
        applyFragment(answer.text);
        if (fields.status && card.parentNode && document.getElementById(id) === card) {
          card.parentNode.removeChild(card);
        }
        refreshEmptyColumns();
        return true;
      })
      .catch(function () {
        card.classList.remove("is-saving");
        undo();
        refreshEmptyColumns();
        say("The connection failed: the deal was not moved.", "error");
        return false;
      });
  }

  // ---- what a drop does -----------------------------------------------------------------

  function titleOf(card) {
    var title = card.querySelector(".deal-card-title");
    return title ? title.textContent : "this deal";
  }

  function askLostReason(card) {
    return new Promise(function (resolve) {
      if (!lostDialog || typeof lostDialog.showModal !== "function") {
        var typed = window.prompt("Why was " + titleOf(card) + " lost?");
        resolve(typed && typed.trim() ? typed.trim() : null);
        return;
      }
      var reason = lostDialog.querySelector("textarea");
      var label = document.getElementById("lost-dialog-deal");
      reason.value = "";
      if (label) {
        label.textContent = titleOf(card);
      }
      lostDialog.returnValue = "";
      lostDialog.addEventListener(
        "close",
        function () {
          var text = reason.value.trim();
          resolve(lostDialog.returnValue === "lost" && text ? text : null);
        },
        { once: true }
      );
      lostDialog.showModal();
      reason.focus();
    });
  }

  function dropOnStage(card, list) {
    var stageId = list.getAttribute("data-drop-stage");
    if (!stageId || stageId === card.getAttribute("data-stage-id")) {
      return;
    }
    var home = card.parentNode;
    var next = card.nextSibling;
    list.insertBefore(card, list.firstChild);
    refreshEmptyColumns();
    postMove(card, { stage_id: stageId }, function () {
      home.insertBefore(card, next && next.parentNode === home ? next : null);
    });
  }

  function dropOnOutcome(card, status) {
    var undo = function () {
      card.hidden = false;
    };
    if (status === "won") {
      card.hidden = true;
      postMove(card, { status: "won" }, undo).then(function (done) {
        if (done) {
          say(titleOf(card) + " is won. Well done!", "success");
        }
      });
      return;
    }
    askLostReason(card).then(function (reason) {
      if (!reason) {
        say("Not marked as lost: a reason is needed.", "");
        return;
      }
      card.hidden = true;
      postMove(card, { status: "lost", lost_reason: reason }, undo).then(function (done) {
        if (done) {
          say(titleOf(card) + " is marked as lost.", "");
        }
      });
    });
  }

  function targetAt(element) {
    return element ? element.closest("[data-drop-stage], [data-drop-status]") : null;
  }

  function highlight(target) {
    var lit = document.querySelectorAll(".drop-target");
    for (var i = 0; i < lit.length; i++) {
      if (lit[i] !== target) {
        lit[i].classList.remove("drop-target");
      }
    }
    if (target) {
      var column = target.closest(".board-column") || target;
      column.classList.add("drop-target");
    }
  }

  function drop(card, target) {
    if (!target || !card) {
      return;
    }
    var status = target.getAttribute("data-drop-status");
    if (status) {
      dropOnOutcome(card, status);
    } else {
      dropOnStage(card, target);
    }
  }

  function startDragging(card) {
    card.classList.add("is-dragging");
    document.body.classList.add("board-dragging");
  }

  function stopDragging(card) {
    if (card) {
      card.classList.remove("is-dragging");
    }
    document.body.classList.remove("board-dragging");
    highlight(null);
  }

  // ---- native HTML5 drag and drop -------------------------------------------------------

  var nativeCard = null;

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest ? event.target.closest(".deal-card.movable") : null;
    if (!card || !board.contains(card)) {
      return;
    }
    if (pointer && pointer.active) {
      // A pointer drag got there first (input that moves in jumps, such as WebDriver's):
      // keep it, or the browser's drag session would swallow the pointer events.
      event.preventDefault();
      return;
    }
    cancelPointerDrag();
    nativeCard = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.getAttribute("data-deal-id"));
    startDragging(card);
  });

  document.addEventListener("dragover", function (event) {
    if (!nativeCard) {
      return;
    }
    var target = targetAt(event.target);
    if (target) {
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
    }
    highlight(target);
  });

  document.addEventListener("drop", function (event) {
    if (!nativeCard) {
      return;
    }
    var target = targetAt(event.target);
    if (target) {
      event.preventDefault();
    }
    var card = nativeCard;
    nativeCard = null;
    stopDragging(card);
    drop(card, target);
  });

  document.addEventListener("dragend", function () {
    if (nativeCard) {
      stopDragging(nativeCard);
      nativeCard = null;
    }
  });

  // ---- pointer events -------------------------------------------------------------------

  var pointer = null;

  function isControl(element) {
    return element.closest("button, select, input, textarea, summary, label, details[open] form");
  }

  function cancelPointerDrag() {
    if (!pointer) {
      return;
    }
    if (pointer.ghost && pointer.ghost.parentNode) {
      pointer.ghost.parentNode.removeChild(pointer.ghost);
    }
    if (pointer.active) {
      stopDragging(pointer.card);
      document.body.classList.remove("board-pointer-dragging");
    }
    pointer = null;
  }

  function placeGhost(x, y) {
    pointer.ghost.style.transform =
      "translate(" + (x - pointer.offsetX) + "px, " + (y - pointer.offsetY) + "px) rotate(2deg)";
  }

  board.addEventListener("pointerdown", function (event) {
    if (event.button !== 0 || !event.isPrimary) {
      return;
    }
    var card = event.target.closest(".deal-card.movable");
    if (!card || isControl(event.target)) {
      return;
    }
    var box = card.getBoundingClientRect();
    pointer = {
      card: card,
      id: event.pointerId,
      startX: event.clientX,
      startY: event.clientY,
      offsetX: event.clientX - box.left,
      offsetY: event.clientY - box.top,
      width: box.width,
      active: false,
      ghost: null
    };
  });

  document.addEventListener("pointermove", function (event) {
    if (!pointer || event.pointerId !== pointer.id) {
      return;
    }
    if (!pointer.active) {
      var moved = Math.abs(event.clientX - pointer.startX) + Math.abs(event.clientY - pointer.startY);
      if (moved < DRAG_THRESHOLD) {
        return;
      }
      pointer.active = true;
      var ghost = pointer.card.cloneNode(true);
      ghost.removeAttribute("id");
      ghost.classList.add("deal-card-ghost");
      ghost.setAttribute("aria-hidden", "true");
      ghost.style.width = pointer.width + "px";
      document.body.appendChild(ghost);
      pointer.ghost = ghost;
      startDragging(pointer.card);
      document.body.classList.add("board-pointer-dragging");
    }
    event.preventDefault();
    placeGhost(event.clientX, event.clientY);
    highlight(targetAt(document.elementFromPoint(event.clientX, event.clientY)));
  });

  document.addEventListener("pointerup", function (event) {
    if (!pointer || event.pointerId !== pointer.id) {
      return;
    }
    var state = pointer;
    if (!state.active) {
      pointer = null;
      return;
    }
    var target = targetAt(document.elementFromPoint(event.clientX, event.clientY));
    cancelPointerDrag();
    // The click that ends a drag is not a click on the card's link.
    var swallow = function (click) {
      click.preventDefault();
      click.stopPropagation();
    };
    document.addEventListener("click", swallow, { capture: true, once: true });
    setTimeout(function () {
      document.removeEventListener("click", swallow, { capture: true });
    }, 0);
    drop(state.card, target);
  });

  document.addEventListener("pointercancel", function (event) {
    if (pointer && event.pointerId === pointer.id) {
      cancelPointerDrag();
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      cancelPointerDrag();
    }
  });

  if (outcomes) {
    outcomes.hidden = false;
  }
})();
