/* Import page: the results zip goes to the API in chunks (the chunked upload fields the API takes for photos),
   with a progress bar, each chunk retried while the network or the server fails; or the address is posted for the
   server to download. Then the new task's page opens. Without this script the form posts the file whole. */
import {errorText} from "./responses.js";

document.documentElement.classList.add("js");
const form = document.getElementById("import-form");
if (form) startImport(form, JSON.parse(document.getElementById("page-data").textContent));

function startImport(form, page) {
  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);
  const ui = {
    file: form.elements.file, url: form.elements.url, name: form.elements.name, progress: $("import-progress"),
    bar: $("import-bar"), status: $("import-status"), error: $("import-error"), button: $("import-button"),
  };
  const RETRIES = 5;
  const chunkSize = () => Number(form.dataset.chunkSize) || 8 * 1024 * 1024;  // read at each import (tests shrink it)
  const retryFirstMs = () => Number(form.dataset.retryDelay) || 1000;

  function randomId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function formatBytes(bytes) {
    if (bytes < 1048576) return (bytes / 1024).toFixed(0) + " KB";
    if (bytes < 1073741824) return (bytes / 1048576).toFixed(1) + " MB";
    return (bytes / 1073741824).toFixed(2) + " GB";
  }

  function showProgress(sent, total) {
    const percent = total ? Math.round((100 * sent) / total) : 0;
    ui.bar.setAttribute("aria-valuenow", String(percent));
    ui.bar.firstElementChild.style.width = percent + "%";
    ui.status.textContent = `${formatBytes(sent)} of ${formatBytes(total)} sent (${percent} %)`;
  }

  // POST to the import endpoint, again after growing pauses while the network or the server fails.
  async function post(body, what) {
    for (let attempt = 0; ; attempt++) {
      let response = null;
      try {
        response = await fetch(page.api, {method: "POST", body, credentials: "same-origin",
                                          headers: {"X-CSRFToken": csrfToken, Accept: "application/json"}});
      } catch (networkError) {
        response = null;
      }
      if (response && response.status < 500 && response.status !== 408 && response.status !== 429) return response;
      if (attempt >= RETRIES) {
        throw new Error(response ? await errorText(response) : `The server could not be reached to send ${what}.`);
      }
      const wait = retryFirstMs() * 2 ** attempt;
      ui.status.textContent = `Sending ${what} failed: trying again in ${Math.ceil(wait / 1000)} s…`;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  // Send the zip chunk by chunk; the answer to the last one is the new task (201).
  async function sendFile(file) {
    const size = chunkSize();
    const count = Math.max(1, Math.ceil(file.size / size));
    const uuid = randomId();
    showProgress(0, file.size);
    for (let index = 0; index < count; index++) {
      const start = index * size;
      const end = Math.min(file.size, start + size);
      const body = new FormData();
      body.append("dzuuid", uuid);
      body.append("dzchunkindex", String(index));
      body.append("dztotalchunkcount", String(count));
      body.append("dzchunkbyteoffset", String(start));
      body.append("dztotalfilesize", String(file.size));
      body.append("name", ui.name.value);
      body.append("file", file.slice(start, end), file.name);
      const response = await post(body, `part ${index + 1} of ${count}`);
      if (!response.ok) throw new Error(await errorText(response));
      showProgress(end, file.size);
      if (response.status === 201) return response.json();
      if (index === count - 2) ui.status.textContent += " · the server checks and unpacks the results at the end";
    }
    throw new Error("The server did not take the whole file: try again.");
  }

  async function sendUrl(url) {
    const body = new FormData();
    body.append("url", url);
    body.append("name", ui.name.value);
    const response = await post(body, "the address");
    if (!response.ok) throw new Error(await errorText(response));
    return response.json();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = ui.file.files[0];
    const url = ui.url.value.trim();
    ui.error.classList.add("d-none");
    if (!file && !url) {
      ui.error.textContent = "Choose a results zip, or give its address.";
      ui.error.classList.remove("d-none");
      return;
    }
    ui.button.disabled = true;
    ui.progress.classList.toggle("d-none", !file);
    try {
      const task = file ? await sendFile(file) : await sendUrl(url);
      ui.status.textContent = "Imported: opening the task…";
      window.location.assign(page.taskPage.replace("{id}", task.id));
    } catch (problem) {
      ui.status.textContent = "Stopped: nothing was imported.";
      ui.error.textContent = problem.message;
      ui.error.classList.remove("d-none");
      ui.button.disabled = false;
    }
  });
  form.dataset.ready = "true";
}
