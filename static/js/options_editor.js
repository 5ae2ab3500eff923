/* The options editor of the new task page and of the task page's "Edit and restart", built from the chosen node's
   options (NodeODM's /options), and its presets: choosing one fills the editor, saving stores the options under a
   name (POST page.presetUrl; only where the page has the save button). page.initialOptions ([{name, value}], the
   task's own) fill the editor while no preset is chosen.
   The form's hidden "options" field always holds the options that differ from the node's defaults. */
import {errorText} from "./responses.js";

// Start the editor in form, with the page's data (nodes, presets, presetUrl); returns what the uploader needs.
export function startOptionsEditor(form, page, csrfToken) {
  const $ = (id) => document.getElementById(id);
  const ui = {
    node: form.elements.processing_node, preset: form.elements.preset, options: form.elements.options,
    editor: $("options-editor"), optionsCount: $("options-count"), optionsSource: $("options-source"),
    presetName: $("preset-name"), presetSave: $("preset-save"), presetMessage: $("preset-message"),
  };

  function nodeById(id) { return page.nodes.find((node) => String(node.id) === String(id)); }

  function optionsOfChoice() {
    const node = nodeById(ui.node.value);
    if (node) return {options: node.available_options, source: `Options of ${node.label}.`};
    // Automatic: the options every online node offers (any node's when none is online).
    const online = page.nodes.filter((n) => n.online);
    const pool = online.length ? online : page.nodes;
    if (!pool.length) return {options: [], source: "No processing node yet: options appear once one is added."};
    const common = pool[0].available_options.filter((option) =>
      pool.every((n) => n.available_options.some((o) => o.name === option.name)));
    return {options: common, source: "Options that every online node offers."};
  }

  function editorValues() {
    const values = {};
    ui.editor.querySelectorAll("[data-option]").forEach((input) => {
      values[input.dataset.option] = input.type === "checkbox" ? String(input.checked) : input.value;
    });
    return values;
  }

  function renderEditor(values) {
    const {options, source} = optionsOfChoice();
    ui.optionsSource.textContent = source;
    ui.editor.replaceChildren(...options.filter((o) => o.name !== "rerun-from").map((option) =>
      optionRow(option, option.name in values ? values[option.name] : option.value)));
    onOptionsChanged();
  }

  function optionRow(option, value) {
    const id = "option-" + option.name;
    const row = document.createElement("div");
    row.className = "option-row mb-2";
    let input;
    if (option.type === "bool") {
      row.classList.add("form-check");
      input = document.createElement("input");
      input.type = "checkbox";
      input.className = "form-check-input";
      input.checked = String(value).toLowerCase() === "true";
    } else if (option.type === "enum" && Array.isArray(option.domain)) {
      input = document.createElement("select");
      input.className = "form-select form-select-sm";
      for (const choice of option.domain) input.add(new Option(choice === "" ? "(none)" : choice, choice));
      input.value = String(value);
    } else {
      input = document.createElement("input");
      input.type = "text";
      input.inputMode = option.type === "int" || option.type === "float" ? "decimal" : "text";
      input.className = "form-control form-control-sm";
      input.value = String(value ?? "");
    }
    input.id = id;
    input.dataset.option = option.name;
    input.setAttribute("aria-describedby", id + "-help");
    const label = document.createElement("label");
    label.className = option.type === "bool" ? "form-check-label" : "form-label small mb-0";
    label.htmlFor = id;
    label.textContent = option.name;
    const help = document.createElement("div");
    help.className = "form-text mt-0";
    help.id = id + "-help";
    help.textContent = option.help + (typeof option.domain === "string" && option.type !== "bool"
      ? ` (${option.domain}; default ${option.value === "" ? "none" : option.value})` : "");
    const feedback = document.createElement("div");
    feedback.className = "invalid-feedback";
    feedback.id = id + "-error";
    if (option.type === "bool") row.append(input, label, help, feedback);
    else row.append(label, input, help, feedback);
    input.addEventListener("input", onOptionsChanged);
    input.addEventListener("change", onOptionsChanged);
    return row;
  }

  // A value typed as its option says, or throws an Error saying what is wrong.
  function typedValue(option, raw) {
    if (option.type === "bool") return raw === "true";
    if (option.type === "int" || option.type === "float") {
      const text = raw.trim();
      const number = Number(text);
      if (text === "" || !Number.isFinite(number)) throw new Error("Enter a number.");
      if (option.type === "int" && !Number.isInteger(number)) throw new Error("Enter a whole number.");
      checkDomain(number, option.domain);
      return number;
    }
    if (Array.isArray(option.domain) && option.domain.length && !option.domain.includes(raw)) {
      throw new Error("Choose one of " + option.domain.join(", ") + ".");
    }
    return raw;
  }

  // A numeric domain in NodeODM's grammar: "" or [positive |negative ]integer|float, percent, "integer: A <= x <= B",
  // "float > N" (and >=, <, <=). Domains it cannot read are left to the node to check.
  function checkDomain(number, domain) {
    if (typeof domain !== "string") return;
    const ops = {">=": (a, b) => a >= b, ">": (a, b) => a > b, "<=": (a, b) => a <= b, "<": (a, b) => a < b};
    let m;
    let holds = true;
    if ((m = domain.match(/^(positive |negative )?(integer|float)$/))) {
      holds = m[1] === "positive " ? number >= 0 : m[1] === "negative " ? number <= 0 : true;
    } else if (domain === "percent") {
      holds = number >= 0 && number <= 100;
    } else if ((m = domain.match(/^(integer|float): ([-+.\d]+) <= x <= ([-+.\d]+)$/))) {
      holds = number >= Number(m[2]) && number <= Number(m[3]);
    } else if ((m = domain.match(/^(integer|float) (>=|>|<=|<) ([-+.\d]+)$/))) {
      holds = ops[m[2]](number, Number(m[3]));
    }
    if (!holds) throw new Error(`Out of range (${domain}).`);
  }

  // [{name, value}] of the options that differ from the node's defaults; marks invalid inputs.
  function collectOptions() {
    const {options} = optionsOfChoice();
    const values = editorValues();
    const chosenOptions = [];
    let firstInvalid = null;
    for (const option of options) {
      if (!(option.name in values)) continue;
      const input = document.getElementById("option-" + option.name);
      try {
        const value = typedValue(option, values[option.name]);
        input.classList.remove("is-invalid");
        input.setAttribute("aria-describedby", input.id + "-help");
        if (String(value) !== String(typedDefault(option))) chosenOptions.push({name: option.name, value});
      } catch (problem) {
        input.classList.add("is-invalid");
        input.setAttribute("aria-describedby", input.id + "-error " + input.id + "-help");
        document.getElementById(input.id + "-error").textContent = problem.message;
        firstInvalid = firstInvalid || input;
      }
    }
    return {options: chosenOptions, firstInvalid};
  }

  function typedDefault(option) {
    try { return typedValue(option, String(option.value)); } catch (e) { return option.value; }
  }

  function onOptionsChanged() {
    const {options} = collectOptions();
    ui.options.value = JSON.stringify(options);
    ui.optionsCount.textContent = options.length + " changed";
  }

  function optionValues(list) {
    const values = {};
    for (const option of list || []) values[option.name] = String(option.value);
    return values;
  }

  function applyPreset() {
    const preset = page.presets.find((p) => String(p.id) === ui.preset.value);
    renderEditor(optionValues(preset ? preset.options : page.initialOptions));
  }

  // Values typed so far carry over to the new node's options; those its editor lacked come from the task's own.
  ui.node.addEventListener("change", () => renderEditor({...optionValues(page.initialOptions), ...editorValues()}));
  ui.preset.addEventListener("change", applyPreset);

  ui.presetSave?.addEventListener("click", async () => {
    const {options, firstInvalid} = collectOptions();
    if (firstInvalid) { firstInvalid.focus(); return; }
    const body = new FormData();
    body.append("csrf_token", csrfToken);
    body.append("name", ui.presetName.value);
    body.append("options", JSON.stringify(options));
    const response = await fetch(page.presetUrl, {method: "POST", body, headers: {Accept: "application/json"}});
    if (!response.ok) { ui.presetMessage.textContent = await errorText(response); return; }
    const preset = await response.json();
    page.presets = page.presets.filter((p) => p.id !== preset.id).concat([preset]);
    if (![...ui.preset.options].some((o) => o.value === String(preset.id))) {
      ui.preset.add(new Option(preset.name, String(preset.id)));
    }
    ui.preset.value = String(preset.id);
    ui.presetMessage.textContent = `Preset “${preset.name}” saved.`;
  });

  // Disable (or enable again) the node, the preset and the options: a task being uploaded has its settings.
  function lock(locked) {
    [ui.node, ui.preset, ui.presetSave].forEach((el) => { if (el) el.disabled = locked; });
    ui.editor.querySelectorAll("[data-option]").forEach((el) => { el.disabled = locked; });
  }

  applyPreset();
  return {collectOptions, lock};
}
