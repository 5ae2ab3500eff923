/* Task page, "Edit and restart": the task's processing node and options in the new-task page's options editor
   (options_editor.js), saved through the API as any client would (PATCH the task, then POST restart/), after which
   the page reloads to follow the new run. A refused change is shown and nothing is restarted. */
import {startOptionsEditor} from "./options_editor.js";
import {errorText} from "./responses.js";

const form = document.getElementById("edit-restart-form");
if (form) startEditing(form, JSON.parse(document.getElementById("edit-data").textContent));

function startEditing(form, page) {
  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  const editor = startOptionsEditor(form, page, csrfToken);
  const error = document.getElementById("edit-error");
  const submit = document.getElementById("edit-submit");
  const headers = {"Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken};

  // The node fields to send: none when "automatic" stays as it was, so an automatically chosen node is kept.
  function nodeFields() {
    const choice = form.elements.processing_node.value;
    if (choice === page.autoNode) {
      return page.task.auto_processing_node ? {} : {processing_node: null, auto_processing_node: true};
    }
    return {processing_node: Number(choice), auto_processing_node: false};
  }

  async function send(url, method, body) {
    const response = await fetch(url, {method, headers, credentials: "same-origin", body: JSON.stringify(body)});
    if (!response.ok) throw new Error(await errorText(response));
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.classList.add("d-none");
    const {options: edited, firstInvalid} = editor.collectOptions();
    if (firstInvalid) { firstInvalid.focus(); return; }
    // A node that lists no options (never reached yet) shows an empty editor: the task keeps its own options.
    const options = form.querySelector("[data-option]") ? edited : page.initialOptions;
    const stage = form.elements.rerun_from.value;
    submit.disabled = true;
    try {
      await send(page.api.task, "PATCH", {...nodeFields(), options});
      await send(page.api.restart, "POST",
                 {options: stage ? options.concat([{name: "rerun-from", value: stage}]) : options});
      window.location.reload();
    } catch (problem) {
      error.textContent = problem.message;
      error.classList.remove("d-none");
      submit.disabled = false;
    }
  });
}
