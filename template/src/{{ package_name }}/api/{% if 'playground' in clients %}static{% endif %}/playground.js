// The playground: a client of the service's WebSocket protocol (`api/routes/ws.py`, the
// frames are `core/protocol.py`). Plain JavaScript, no build step, nothing from elsewhere.
//
// The conversation key is kept in localStorage: a reload asks `recent` for the earlier turns
// and resumes those still running. A dropped socket reconnects with backoff and sends
// `resume` for each reply in flight, after the last frame number (`seq`) it saw. The API
// key, when the service wants one, is kept for this tab only (sessionStorage).
"use strict";

(() => {
  const CONVERSATION_ITEM = "playground.conversation";
  const KEY_ITEM = "playground.api_key";
  const RECENT_LIMIT = 50;
  const MAX_BACKOFF_MS = 15000;
  const LIVE_STATUSES = new Set(["pending", "processing", "awaiting_approval"]);

  const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);
  const ui = {
    connection: byTestId("connection"),
    keyForm: byTestId("key-form"),
    keyInput: byTestId("api-key"),
    keyHint: byTestId("key-hint"),
    notice: byTestId("notice"),
    turns: byTestId("turns"),
    empty: byTestId("empty"),
    composer: byTestId("composer"),
    message: byTestId("message"),
    send: byTestId("send"),
    stop: byTestId("stop"),
    conversationKey: byTestId("conversation-key"),
    newConversation: byTestId("new-conversation"),
  };

  let conversationKey = storedConversation();
  let apiKey = sessionStorage.getItem(KEY_ITEM);
  let keyRequired = false;
  let socket = null;
  let attempts = 0;
  let reconnectTimer = null;
  let historyShown = false;
  /** The client's frames that get exactly one answer, oldest first (the server answers
   * them in order): a `resume` is followed by a `ping`, whose `pong` says it was taken. */
  let requests = [];
  /** Every reply shown, by event id. */
  const replies = new Map();

  // -- the conversation's key -------------------------------------------------------------

  function randomId() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function storedConversation() {
    let key = localStorage.getItem(CONVERSATION_ITEM);
    if (!key) {
      key = `playground:${randomId()}`;
      localStorage.setItem(CONVERSATION_ITEM, key);
    }
    return key;
  }

  // -- the connection -----------------------------------------------------------------------

  function showConnection(state, text) {
    ui.connection.textContent = text;
    ui.connection.parentElement.dataset.state = state;
    refreshControls();
  }

  function isOpen() {
    return socket !== null && socket.readyState === WebSocket.OPEN;
  }

  function connect() {
    clearTimeout(reconnectTimer);
    const url = new URL("ws", location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    if (apiKey) url.searchParams.set("api_key", apiKey);
    showConnection("connecting", attempts ? "reconnecting" : "connecting");
    const current = new WebSocket(url);
    socket = current;
    current.addEventListener("open", () => opened());
    current.addEventListener("message", (message) => {
      attempts = 0;
      received(JSON.parse(message.data));
    });
    current.addEventListener("close", (event) => {
      if (socket === current) closed(event);
    });
  }

  function opened() {
    showConnection("open", "connected");
    ui.keyForm.hidden = true;
    if (!historyShown) {
      send({ type: "recent", limit: RECENT_LIMIT, conversation_key: conversationKey }, {
        kind: "recent",
      });
    }
    for (const reply of replies.values()) {
      if (reply.live) resume(reply);
    }
  }

  function closed(event) {
    socket = null;
    for (const request of requests) lost(request);
    requests = [];
    if (event.code === 1008 && event.reason === "unauthorized") {
      sessionStorage.removeItem(KEY_ITEM);
      apiKey = null;
      askForKey(keyRequired ? "The key was refused: type it again." : "This service asks for its API key.");
      showConnection("refused", "API key refused");
      return;
    }
    if (event.code === 1008 && event.reason !== "client too slow") {
      showConnection("refused", `refused: ${event.reason || "policy violation"}`);
      return;
    }
    const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** attempts) * (0.5 + Math.random() / 2);
    attempts += 1;
    showConnection("closed", `disconnected; reconnecting in ${Math.ceil(delay / 1000)} s`);
    reconnectTimer = setTimeout(connect, delay);
  }

  function send(frame, request) {
    socket.send(JSON.stringify(frame));
    if (request) requests.push(request);
  }

  function resume(reply) {
    send({ type: "resume", event_id: reply.id, after: reply.lastSeq }, { kind: "resume", reply });
    send({ type: "ping" });
  }

  function askForKey(hint) {
    ui.keyHint.textContent = hint;
    ui.keyForm.hidden = false;
    ui.keyInput.focus();
  }

  // -- the frames the server sends ----------------------------------------------------------

  function received(frame) {
    switch (frame.type) {
      case "receipt":
        return receipt(frame);
      case "delta":
      case "tool":
      case "retrying":
      case "result":
      case "cancelled":
      case "approval_required":
        return replyFrame(frame);
      case "error":
        return frame.event_id ? replyFrame(frame) : refused(frame.error);
      case "timeout":
        return timedOut(frame);
      case "cancel":
        return cancelled();
      case "decision":
        return decided(frame);
      case "recent":
        return recent(frame);
      case "pong":
        return answered("resume");
      default:
        return undefined;
    }
  }

  /** The oldest request, which `frame` answers. */
  function answered(kind) {
    const request = requests.shift();
    if (request && request.kind !== kind) console.warn("unexpected answer", kind, request);
    return request;
  }

  function receipt(frame) {
    const request = answered("message");
    if (!request) return;
    const reply = newReply(frame.event_id, request.turn);
    setStatus(reply, "queued", "queued");
    reply.live = true;
    refreshControls();
  }

  function replyFrame(frame) {
    let reply = replies.get(frame.event_id);
    if (!reply) {
      reply = newReply(frame.event_id, newTurn(null));
      reply.live = true;
    }
    if (frame.seq !== undefined) {
      if (frame.seq <= reply.lastSeq) return; // seen before the connection dropped
      reply.lastSeq = frame.seq;
    }
    switch (frame.type) {
      case "delta":
        addText(reply, frame.seq, frame.text);
        if (reply.live) setStatus(reply, "running", "running");
        break;
      case "tool":
        reply.parts.push({ seq: frame.seq, kind: "tool", frame });
        render(reply);
        if (reply.live) setStatus(reply, "running", "running");
        break;
      case "retrying":
        reply.parts = reply.parts.filter((part) => part.seq <= frame.discard_after);
        render(reply);
        setStatus(reply, "retrying", `retrying (attempt ${frame.attempt} failed: ${frame.error})`);
        break;
      case "result":
        finalText(reply, frame.output);
        finish(reply, "completed", "completed");
        break;
      case "error":
        finish(reply, "failed", `failed: ${frame.error}`);
        break;
      case "cancelled":
        finish(reply, "cancelled", "cancelled");
        break;
      case "approval_required":
        reply.parts.push({ seq: frame.seq, kind: "approval", frame });
        render(reply);
        finish(reply, "awaiting_approval", "awaiting approval");
        break;
    }
  }

  function timedOut(frame) {
    const reply = replies.get(frame.event_id);
    if (!reply) return;
    reply.live = false;
    setStatus(reply, "timeout", `no reply yet (it runs on): ${frame.error}`);
    refreshControls();
  }

  function refused(error) {
    const request = requests.shift();
    if (!request) {
      showNotice(error);
    } else if (request.kind === "message") {
      setTurnStatus(request.turn, "refused", `not sent: ${error}`);
    } else if (request.kind === "resume") {
      request.reply.live = false;
      setStatus(request.reply, "lost", `no longer followed: ${error}`);
      request.resumeFailed = true;
      requests.unshift(request); // its pong is still to come
    } else if (request.kind === "decision") {
      request.call.buttons.forEach((button) => { button.disabled = false; });
      request.call.outcome.textContent = `not recorded: ${error}`;
    } else {
      showNotice(error);
    }
    refreshControls();
  }

  function lost(request) {
    if (request.kind === "message") {
      setTurnStatus(request.turn, "lost", "connection lost before the receipt: send it again");
    } else if (request.kind === "decision") {
      request.call.buttons.forEach((button) => { button.disabled = false; });
    }
  }

  function cancelled() {
    const request = answered("cancel");
    if (request && request.reply.live) finish(request.reply, "cancelled", "cancelled");
  }

  function decided(frame) {
    const request = answered("decision");
    if (!request) return;
    request.call.actions.hidden = true;
    request.call.outcome.textContent = frame.status;
    request.call.outcome.dataset.status = frame.status;
    if (frame.event_id && !replies.has(frame.event_id)) {
      // Every call is decided: the run resumes in this event, whose reply follows here.
      const reply = newReply(frame.event_id, request.turn);
      reply.live = true;
      setStatus(reply, "queued", "resuming");
    }
    refreshControls();
  }

  function recent(frame) {
    answered("recent");
    if (historyShown) return;
    historyShown = true;
    const continued = new Map();
    for (const event of [...frame.events].reverse()) {
      if (replies.has(event.id)) continue;
      const turn = continued.get(event.id) ?? newTurn(event.text, event.text ? null : event.type);
      const reply = newReply(event.id, turn);
      const next = event.result && event.result.continued_by;
      if (next) continued.set(next, turn);
      if (event.output) finalText(reply, event.output);
      if (LIVE_STATUSES.has(event.status)) {
        reply.live = true;
        setStatus(reply, event.status === "processing" ? "running" : event.status, event.status.replace("_", " "));
        resume(reply);
      } else if (event.status === "dead") {
        setStatus(reply, "failed", `failed: ${event.last_error ?? "unknown error"}`);
      } else {
        setStatus(reply, event.status, event.status);
      }
    }
    refreshControls();
  }

  // -- the page -----------------------------------------------------------------------------

  function element(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    node.append(...children);
    return node;
  }

  function newTurn(text, label = null) {
    const turn = { replies: [] };
    turn.status = element("p", { class: "status", "data-testid": "status", "data-status": "sending" }, "sending");
    turn.el = element("li", { class: "turn", "data-testid": "turn" });
    if (text != null) turn.el.append(element("div", { class: "user", "data-testid": "user-message" }, text));
    if (label) turn.el.append(element("p", { class: "status" }, label));
    turn.el.append(turn.status);
    ui.turns.append(turn.el);
    ui.empty.hidden = true;
    scrollDown();
    return turn;
  }

  function newReply(id, turn) {
    const reply = { id, turn, parts: [], lastSeq: 0, live: false, status: "" };
    reply.el = element("div", { class: "reply-parts", "data-event-id": id });
    turn.status.before(reply.el);
    turn.replies.push(reply);
    replies.set(id, reply);
    return reply;
  }

  function addText(reply, seq, text) {
    const last = reply.parts[reply.parts.length - 1];
    if (last && last.kind === "text") {
      last.text += text;
      last.seq = seq;
      last.node.textContent = last.text;
      scrollDown();
    } else {
      reply.parts.push({ seq, kind: "text", text });
      render(reply);
    }
  }

  /** The reply's text is the result's output (what streamed, unless frames were lost). */
  function finalText(reply, output) {
    const streamed = reply.parts.filter((part) => part.kind === "text").map((part) => part.text).join("");
    if (streamed === output) return;
    reply.parts = reply.parts.filter((part) => part.kind !== "text");
    if (output) reply.parts.push({ seq: reply.lastSeq, kind: "text", text: output });
    render(reply);
  }

  function render(reply) {
    reply.el.replaceChildren(...reply.parts.map((part) => partElement(reply, part)));
    scrollDown();
  }

  function partElement(reply, part) {
    if (part.kind === "text") {
      part.node = element("div", { class: "reply", "data-testid": "reply" }, part.text);
      return part.node;
    }
    if (part.kind === "tool") {
      const { tool, args, result } = part.frame;
      return element(
        "div",
        { class: "tool", "data-testid": "tool", "data-tool": tool },
        element("strong", {}, `Tool ${tool}`),
        element("pre", { "aria-label": "arguments" }, pretty(args)),
        element("pre", { "aria-label": "result", "data-testid": "tool-result" }, result),
      );
    }
    return element("div", {}, ...part.frame.calls.map((call) => approvalElement(reply, call)));
  }

  function approvalElement(reply, call) {
    const outcome = element("p", { class: "status", "data-testid": "decision" });
    const approve = element("button", { type: "button", "data-testid": "approve" }, "Approve");
    const deny = element("button", { type: "button", class: "danger", "data-testid": "deny" }, "Deny");
    const actions = element("div", { class: "actions" }, approve, deny);
    const state = { buttons: [approve, deny], actions, outcome };
    for (const [button, choice] of [[approve, true], [deny, false]]) {
      button.addEventListener("click", () => {
        if (!isOpen()) return;
        state.buttons.forEach((b) => { b.disabled = true; });
        outcome.textContent = "sending the decision";
        send(
          { type: "decision", approval_id: call.approval_id, approve: choice, conversation_key: conversationKey },
          { kind: "decision", call: state, turn: reply.turn },
        );
      });
    }
    return element(
      "div",
      { class: "approval", role: "group", "aria-label": `Approve the call to ${call.tool}?`, "data-testid": "approval" },
      element("strong", {}, `The agent asks to call ${call.tool}`),
      element("pre", { "aria-label": "arguments" }, JSON.stringify(call.args, null, 2)),
      actions,
      outcome,
    );
  }

  function pretty(args) {
    try {
      return JSON.stringify(JSON.parse(args), null, 2);
    } catch {
      return args;
    }
  }

  function setStatus(reply, status, text) {
    reply.status = status;
    const { turn } = reply;
    if (turn.replies[turn.replies.length - 1] === reply) setTurnStatus(turn, status, text);
  }

  function setTurnStatus(turn, status, text) {
    turn.status.dataset.status = status;
    turn.status.textContent = text;
  }

  function finish(reply, status, text) {
    reply.live = false;
    setStatus(reply, status, text);
    refreshControls();
  }

  function showNotice(text) {
    ui.notice.textContent = text;
    ui.notice.hidden = false;
  }

  function scrollDown() {
    window.scrollTo(0, document.body.scrollHeight);
  }

  /** The reply that Stop cancels: the newest one still in flight. */
  function running() {
    return [...replies.values()].reverse().find((reply) => reply.live);
  }

  function refreshControls() {
    ui.send.disabled = !isOpen();
    ui.stop.disabled = !isOpen() || running() === undefined;
    ui.conversationKey.textContent = conversationKey;
  }

  // -- what the user does -------------------------------------------------------------------

  ui.composer.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = ui.message.value.trim();
    if (!text || !isOpen()) return;
    ui.notice.hidden = true;
    const turn = newTurn(text);
    send({ text, conversation_key: conversationKey }, { kind: "message", turn });
    ui.message.value = "";
  });

  ui.message.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      ui.composer.requestSubmit();
    }
  });

  ui.stop.addEventListener("click", () => {
    const reply = running();
    if (!reply || !isOpen()) return;
    setStatus(reply, "cancelling", "cancelling");
    send({ type: "cancel", event_id: reply.id }, { kind: "cancel", reply });
  });

  ui.keyForm.addEventListener("submit", (event) => {
    event.preventDefault();
    apiKey = ui.keyInput.value;
    ui.keyInput.value = "";
    sessionStorage.setItem(KEY_ITEM, apiKey);
    attempts = 0;
    connect();
  });

  ui.newConversation.addEventListener("click", () => {
    localStorage.removeItem(CONVERSATION_ITEM);
    conversationKey = storedConversation();
    for (const reply of replies.values()) reply.live = false;
    replies.clear();
    ui.turns.replaceChildren();
    ui.empty.hidden = false;
    ui.notice.hidden = true;
    refreshControls();
  });

  async function start() {
    refreshControls();
    try {
      const response = await fetch("playground/config.json", { cache: "no-cache" });
      keyRequired = (await response.json()).api_key_required;
    } catch (error) {
      showNotice(`The service's settings could not be read: ${error}`);
    }
    if (keyRequired && !apiKey) {
      askForKey("This service asks for its API key.");
      showConnection("refused", "API key needed");
      return;
    }
    connect();
  }

  start();
})();
