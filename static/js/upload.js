/* New task page: drag and drop, and a chunked upload through the API that retries on failure and resumes after a
   reload, or from another browser (?resume=<task id>), sending only what the server lacks: the server's GET upload/
   is the truth, localStorage only remembers which task to offer. The options editor and presets are
   options_editor.js; the API's URLs and the "automatic node" value come with the page (#page-data).
   Without this script the form still works: it posts the files in one request. */
import {startOptionsEditor} from "./options_editor.js";
import {errorText} from "./responses.js";

document.documentElement.classList.add("js");
const form = document.getElementById("new-task-form");
if (form) startUploader(form, JSON.parse(document.getElementById("page-data").textContent));

function startUploader(form, page) {
  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  const editor = startOptionsEditor(form, page, csrfToken);
  // Read when an upload starts (tests make them smaller to exercise many chunks and quick retries).
  const chunkSize = () => Number(form.dataset.chunkSize) || 2 * 1024 * 1024;
  const retryFirstMs = () => Number(form.dataset.retryDelay) || 1000;
  const PARALLEL_FILES = 2;
  const RETRY_MAX_MS = 15000;
  const STORE_KEY = "aerie-upload-project-" + page.project;
  const taskUrl = (id, kind = "task") => page.api[kind].replace("{id}", id);  // kind: task, upload or commit
  const $ = (id) => document.getElementById(id);
  const ui = {
    dropZone: $("drop-zone"), images: form.elements.images, gcp: form.elements.gcp, list: $("file-list"),
    summary: $("file-summary"), node: form.elements.processing_node, name: form.elements.name,
    options: form.elements.options, optionsPanel: $("options-panel"),
    progress: $("upload-progress"), bar: $("upload-bar"), status: $("upload-status"), retryNow: $("retry-now"),
    error: $("upload-error"), start: $("start-button"), banner: $("resume-banner"), bannerText: $("resume-text"),
    discard: $("resume-discard"),
  };

  let chosen = [];         // the files on the page: {key, file, name, size, gcp, state, sentBytes, message, row}
  let resumeState = null;  // the state of an interrupted upload of a task that is still partial, as the server has it
  let uploading = false;
  // The waits before a retry, one per file sending in parallel: "Retry now" and coming back online end them all.
  const retryWaits = new Set();

  // ---- small helpers

  function formatBytes(bytes) {
    if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(0) + " KB";
    if (bytes < 1024 * 1024 * 1024) return (bytes / 1024 / 1024).toFixed(1) + " MB";
    return (bytes / 1024 / 1024 / 1024).toFixed(2) + " GB";
  }

  function randomId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function fileKey(name, size) { return serverName(name) + "|" + size; }

  // The name the server stores a file under (werkzeug's secure_filename: ASCII letters, digits, _ . -), so that a
  // file chosen again matches what the server reports.
  function serverName(name) {
    return name.normalize("NFKD").replace(/[^\x00-\x7f]/g, "").split(/\s+/).filter(Boolean).join("_")
      .replace(/[^A-Za-z0-9_.-]/g, "").replace(/^[._]+|[._]+$/g, "");
  }

  function plural(count, word) { return count + " " + word + (count === 1 ? "" : "s"); }
  function isText(name) { return name.toLowerCase().endsWith(".txt"); }

  function loadState() {
    try { return JSON.parse(localStorage.getItem(STORE_KEY)); } catch (e) { return null; }
  }
  function saveState(state) { localStorage.setItem(STORE_KEY, JSON.stringify(state)); }
  function clearState() { localStorage.removeItem(STORE_KEY); }

  // ---- choosing files

  function addFiles(fileList, asGcp) {
    for (const file of fileList) {
      const gcp = asGcp || isText(file.name);
      if (gcp) chosen = chosen.filter((f) => !f.gcp || f.state === "done");
      const key = fileKey(file.name, file.size);
      if (chosen.some((f) => f.key === key)) continue;
      chosen.push({key, file, name: file.name, size: file.size, gcp, state: "waiting", sentBytes: 0, message: ""});
    }
    markAlreadySent();
    renderFiles();
  }

  function markAlreadySent() {
    if (!resumeState) return;
    for (const f of chosen) {
      const saved = resumeState.files[f.key];
      if (saved && saved.done) { f.state = "done"; f.sentBytes = f.size; f.message = "already on the server"; }
      else if (f.message === "already on the server") { f.state = "waiting"; f.sentBytes = 0; f.message = ""; }
    }
  }

  function renderFiles() {
    ui.list.replaceChildren(...chosen.map(fileRow));
    const images = chosen.filter((f) => !f.gcp).length;
    const gcp = chosen.find((f) => f.gcp);
    const bytes = chosen.reduce((sum, f) => sum + f.size, 0);
    ui.summary.textContent = chosen.length
      ? `${images} image${images === 1 ? "" : "s"}${gcp ? " and a GCP file" : ""} · ${formatBytes(bytes)}`
      : "";
  }

  function fileRow(f) {
    const row = document.createElement("li");
    row.className = "list-group-item d-flex align-items-center gap-2 file-item";
    row.dataset.state = f.state;
    const name = document.createElement("span");
    name.className = "file-name text-truncate";
    name.textContent = (f.gcp ? "GCP: " : "") + f.name;
    const size = document.createElement("span");
    size.className = "text-body-secondary small";
    size.textContent = formatBytes(f.size);
    const state = document.createElement("span");
    state.className = "ms-auto small file-state";
    f.row = row;
    row.append(name, size, state);
    if (!uploading && f.state !== "done") {
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "btn-close btn-sm";
      remove.setAttribute("aria-label", "Remove " + f.name);
      remove.addEventListener("click", () => { chosen = chosen.filter((other) => other !== f); renderFiles(); });
      row.append(remove);
    }
    updateFileRow(f);
    return row;
  }

  function updateFileRow(f) {
    if (!f.row) return;
    f.row.dataset.state = f.state;
    const text = {waiting: "waiting", uploading: Math.floor(100 * f.sentBytes / Math.max(f.size, 1)) + "%",
                  done: f.message || "sent", failed: f.message}[f.state];
    const state = f.row.querySelector(".file-state");
    state.textContent = text;
    state.classList.toggle("text-danger", f.state === "failed");
    state.classList.toggle("text-success", f.state === "done");
  }

  ui.images.addEventListener("change", () => { addFiles(ui.images.files, false); ui.images.value = ""; });
  ui.gcp.addEventListener("change", () => { addFiles(ui.gcp.files, true); ui.gcp.value = ""; });
  ["dragenter", "dragover"].forEach((type) => ui.dropZone.addEventListener(type, (event) => {
    event.preventDefault();
    ui.dropZone.classList.add("drag-over");
  }));
  ui.dropZone.addEventListener("dragleave", () => ui.dropZone.classList.remove("drag-over"));
  ui.dropZone.addEventListener("drop", (event) => {
    event.preventDefault();
    ui.dropZone.classList.remove("drag-over");
    if (!uploading && event.dataTransfer) addFiles(event.dataTransfer.files, false);
  });

  // ---- the upload

  function showError(message) {
    ui.error.textContent = message;
    ui.error.classList.toggle("d-none", !message);
  }

  function setLocked(locked) {
    uploading = locked;
    if (!locked) ui.retryNow.classList.add("d-none");
    ui.start.disabled = locked;
    ui.images.disabled = ui.gcp.disabled = locked;
    lockSettings(locked || Boolean(resumeState));
    renderFiles();
  }

  function lockSettings(locked) {
    ui.name.disabled = locked;
    editor.lock(locked);
  }

  function updateProgress(state) {
    const entries = Object.values(state.files);
    const total = entries.reduce((sum, e) => sum + e.size, 0);
    const sentOf = (e) => {
      const f = chosen.find((c) => c.key === e.key);
      return e.done ? e.size : (f ? f.sentBytes : Math.min(e.received.length * e.chunkSize, e.size));
    };
    const sent = entries.reduce((sum, e) => sum + sentOf(e), 0);
    const done = entries.filter((e) => e.done).length;
    const percent = total ? Math.floor(100 * sent / total) : 0;
    ui.bar.setAttribute("aria-valuenow", String(percent));
    ui.bar.querySelector(".progress-bar").style.width = percent + "%";
    ui.status.textContent = `${done} of ${entries.length} files · ${formatBytes(sent)} of ${formatBytes(total)}`;
  }

  function waitBeforeRetry(ms, what) {
    const until = Date.now() + ms;
    return new Promise((resolve) => {
      const tick = () => {
        const left = Math.ceil((until - Date.now()) / 1000);
        if (left <= 0) return done();
        ui.status.textContent = `Connection problem while sending ${what}: retrying in ${left} s…`;
      };
      const timer = setInterval(tick, 250);
      const done = () => {
        clearInterval(timer);
        retryWaits.delete(done);
        resolve();
      };
      retryWaits.add(done);
      ui.retryNow.classList.remove("d-none");
      tick();
    });
  }

  const retryAllNow = () => [...retryWaits].forEach((done) => done());
  ui.retryNow.addEventListener("click", retryAllNow);
  window.addEventListener("online", retryAllNow);

  // POST to the API with the session cookie, retrying (with growing pauses) while the network or server fails.
  async function post(url, body, what) {
    for (let attempt = 0; ; attempt++) {
      let response = null;
      try {
        response = await fetch(url, {method: "POST", body, credentials: "same-origin",
                                     headers: {"X-CSRFToken": csrfToken, Accept: "application/json"}});
      } catch (networkError) {
        response = null;
      }
      if (response && response.status < 500 && response.status !== 408 && response.status !== 429) {
        // The connection works again: hide "Retry now" (kept shown between tries so that it does not flicker).
        if (retryWaits.size === 0) ui.retryNow.classList.add("d-none");
        return response;
      }
      await waitBeforeRetry(Math.min(retryFirstMs() * 2 ** attempt, RETRY_MAX_MS), what);
    }
  }

  class UploadStopped extends Error {}

  async function createTask() {
    const body = new FormData();
    body.append("partial", "true");
    body.append("name", ui.name.value);
    body.append("options", ui.options.value || "[]");
    const automatic = ui.node.value === page.autoNode;
    body.append("auto_processing_node", String(automatic));
    if (!automatic) body.append("processing_node", ui.node.value);
    const response = await post(page.api.tasks, body, "the task");
    if (!response.ok) throw new UploadStopped(await errorText(response));
    return response.json();
  }

  async function sendFile(f, state) {
    const entry = state.files[f.key];
    f.state = "uploading";
    const size = entry.chunkSize;  // the chunk size this file's upload began with, so that a resume lines up
    const missing = [];
    for (let index = 0; index < entry.chunks; index++) if (!entry.received.includes(index)) missing.push(index);
    f.sentBytes = Math.min(entry.received.length * size, f.size);
    updateFileRow(f);
    for (const index of missing) {
      const start = index * size;
      const end = Math.min(f.size, start + size);
      const body = new FormData();
      body.append("dzuuid", entry.uuid);
      body.append("dzchunkindex", String(index));
      body.append("dztotalchunkcount", String(entry.chunks));
      body.append("dzchunkbyteoffset", String(start));
      body.append("dztotalfilesize", String(f.size));
      body.append("images", f.file.slice(start, end), f.name);
      const response = await post(taskUrl(state.taskId, "upload"), body, f.name);
      if (response.status === 404) throw new UploadStopped("This task was removed meanwhile: start a new one.");
      if (!response.ok) {
        // The server dropped what it had of this file: a later try starts it afresh under a new id.
        Object.assign(entry, {uuid: randomId(), received: []});
        saveState(state);
        f.state = "failed";
        f.message = "refused: " + await errorText(response);
        updateFileRow(f);
        return;
      }
      entry.received.push(index);
      f.sentBytes = Math.min(entry.received.length * size, f.size);
      saveState(state);
      updateFileRow(f);
      updateProgress(state);
    }
    entry.done = true;
    saveState(state);
    f.state = "done";
    f.message = "sent";
    updateFileRow(f);
    updateProgress(state);
  }

  async function sendAll(state) {
    const queue = chosen.filter((f) => f.state !== "done");
    const worker = async () => {
      while (queue.length) await sendFile(queue.shift(), state);
    };
    await Promise.all(Array.from({length: PARALLEL_FILES}, worker));
  }

  function newEntry(f) {
    return {key: f.key, name: f.name, size: f.size, image: !f.gcp, uuid: randomId(), chunkSize: chunkSize(),
            chunks: Math.max(1, Math.ceil(f.size / chunkSize())), received: [], done: false};
  }

  // ---- what the server already holds (GET upload/), the truth whichever browser began the upload

  async function fetchServerState(taskId) {
    const response = await fetch(taskUrl(taskId, "upload"), {headers: {Accept: "application/json"}});
    if (!response.ok) throw new UploadStopped(await errorText(response));
    return response.json();
  }

  // A chunk size that gives the upload's chunk count, for an upload of which only the short last chunk arrived
  // (all its chunks are then sent again); 0 when none fits.
  function fittingChunkSize(upload) {
    const fits = (size) => size > 0 && Math.ceil(upload.total_size / size) === upload.total_chunks;
    return [chunkSize(), Math.ceil(upload.total_size / upload.total_chunks)].find(fits) || 0;
  }

  // The state rebuilt from the server's answer: files it holds whole are done; each unfinished chunked file goes
  // on under its dzuuid with only its missing chunks; files only this browser knew of start afresh.
  function reconcile(state, server) {
    const files = {};
    const known = (name, size) => state.files[fileKey(name, size)] || {name, size, image: !isText(name)};
    for (const [name, size] of Object.entries(server.uploaded)) {
      files[fileKey(name, size)] = {...known(name, size), key: fileKey(name, size), done: true, received: []};
    }
    for (const [uuid, upload] of Object.entries(server.in_progress)) {
      const key = fileKey(upload.filename, upload.total_size);
      const size = upload.chunk_size || fittingChunkSize(upload);
      const received = upload.chunk_size ? upload.received_chunks : [];
      if (!size || (files[key] && (files[key].done || files[key].received.length >= received.length))) continue;
      files[key] = {...known(upload.filename, upload.total_size), key, uuid, chunkSize: size,
                    chunks: upload.total_chunks, received: [...received], done: false};
    }
    for (const [key, entry] of Object.entries(state.files)) {
      if (!files[key]) files[key] = {...entry, uuid: randomId(), received: [], done: false};
    }
    state.files = files;
    return state;
  }

  function newState(task) {
    return {taskId: task.id, name: task.name, files: {}};
  }

  // Add the newly chosen files to the state, and forget files dropped from the list that were not sent whole.
  function addToState(state) {
    const keys = new Set(chosen.map((f) => f.key));
    for (const [key, entry] of Object.entries(state.files)) {
      if (!entry.done && !keys.has(key)) delete state.files[key];
    }
    for (const f of chosen) {
      if (!state.files[f.key]) state.files[f.key] = newEntry(f);
    }
  }

  function checkBeforeUpload() {
    const images = new Set(chosen.filter((f) => !f.gcp).map((f) => f.key));
    if (resumeState) {
      Object.values(resumeState.files).filter((e) => e.image && e.done).forEach((e) => images.add(e.key));
    }
    if (images.size < 2) return "Choose at least 2 photos.";
    const {firstInvalid} = editor.collectOptions();
    if (firstInvalid) {
      ui.optionsPanel.open = true;
      firstInvalid.focus();
      return "An option has a value the node would refuse: see the options.";
    }
    return "";
  }

  async function upload() {
    showError("");
    const problem = checkBeforeUpload();
    if (problem) { showError(problem); return; }
    setLocked(true);
    ui.progress.classList.remove("d-none");
    window.addEventListener("beforeunload", warnOnLeave);
    try {
      // Ask the server again: another browser may have sent more since the page was opened.
      if (resumeState) resumeState = reconcile(resumeState, await fetchServerState(resumeState.taskId));
      markAlreadySent();
      const state = resumeState || newState(await createTask());
      addToState(state);
      saveState(state);
      updateProgress(state);
      await sendAll(state);
      const refused = chosen.filter((f) => f.state === "failed");
      if (refused.length) {
        throw new UploadStopped(`${refused.map((f) => f.name).join(", ")} ${refused.length === 1 ? "was" : "were"}` +
          " refused (see the list). Remove them, then press the button again: the files already sent stay.");
      }
      ui.status.textContent = "Starting processing…";
      const response = await post(taskUrl(state.taskId, "commit"), new FormData(), "the last step");
      if (!response.ok) throw new UploadStopped(await errorText(response));
      clearState();
      window.removeEventListener("beforeunload", warnOnLeave);
      window.location.assign(page.taskPage.replace("{id}", state.taskId));
    } catch (error) {
      window.removeEventListener("beforeunload", warnOnLeave);
      resumeState = loadState();
      if (resumeState) ui.start.textContent = "Resume the upload";
      setLocked(false);
      showError(error instanceof UploadStopped ? error.message : "The upload stopped: " + error.message);
    }
  }

  function warnOnLeave(event) {
    event.preventDefault();
    event.returnValue = "";
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!uploading) upload();
  });

  // ---- resuming an upload interrupted by a reload or a closed tab

  // The task to resume: the one in the address (?resume=, from the dashboard or the task page, in any browser),
  // else the one this browser remembers.
  async function offerResume() {
    const saved = loadState();
    const taskId = new URLSearchParams(window.location.search).get("resume") || (saved && saved.taskId);
    if (!taskId) return;
    let task = null, server = null;
    try {
      const response = await fetch(taskUrl(taskId), {headers: {Accept: "application/json"}});
      if (response.ok) task = await response.json();
      else if (response.status !== 404) return;  // not sure: keep the state for next time
      if (task && task.partial) server = await fetchServerState(task.id);
    } catch (e) {
      return;
    }
    const remembered = saved && String(saved.taskId) === String(taskId);
    if (!task || !task.partial) { if (remembered) clearState(); return; }
    const state = reconcile(remembered ? saved : newState(task), server);
    saveState(state);
    resumeState = state;
    const entries = Object.values(state.files);
    const done = entries.filter((e) => e.done).length;
    const partly = entries.filter((e) => !e.done && e.received.length).length;
    ui.bannerText.textContent = `The upload of task “${task.name || "#" + task.id}” was interrupted: ` +
      `${plural(done, "file")} complete on the server${partly ? `, ${partly} partly sent` : ""}. Choose the same ` +
      "photos again to continue: only what the server lacks is sent.";
    ui.banner.classList.remove("d-none");
    ui.start.textContent = "Resume the upload";
    ui.name.value = task.name;  // the task already has its settings: show them, locked
    const automatic = task.auto_processing_node || task.processing_node === null;
    ui.node.value = automatic ? page.autoNode : String(task.processing_node);
    lockSettings(true);
    markAlreadySent();
    renderFiles();
  }

  ui.discard.addEventListener("click", async () => {
    const state = resumeState || loadState();
    if (state) {
      await fetch(taskUrl(state.taskId), {method: "DELETE", headers: {"X-CSRFToken": csrfToken}});
    }
    clearState();
    resumeState = null;
    ui.banner.classList.add("d-none");
    ui.start.textContent = "Upload and start processing";
    chosen.forEach((f) => { f.state = "waiting"; f.sentBytes = 0; f.message = ""; });
    lockSettings(false);
    renderFiles();
  });

  // Every handler is attached: say so (a module script runs after the page is shown; tests wait for this).
  ui.dropZone.dataset.ready = "true";
  offerResume();
}
