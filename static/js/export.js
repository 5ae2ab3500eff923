/* Export forms (templates/maps/_export.html): WebODM's POST .../{asset}/export, then either the download at once
   or a job followed through /api/workers/check until its file can be fetched from /api/workers/get.
   A page may set window.AerieExportParams(asset) to add its current style (formula, colour map, ...). */
(function () {
  "use strict";

  var POLL_MS = 700;
  document.documentElement.classList.add("js"); // shows the .js-only export forms

  /** Fill the format list of the chosen asset. */
  function offerFormats(form) {
    var option = form.asset.options[form.asset.selectedIndex];
    form.format.textContent = "";
    if (!option) return;
    option.dataset.formats.split(",").forEach(function (pair) {
      var parts = pair.split(":"), item = document.createElement("option");
      item.value = parts[0];
      item.textContent = parts[1];
      form.format.appendChild(item);
    });
  }

  /** A request with the session's CSRF token; resolves to {ok, body}. */
  function send(url, body) {
    var options = {credentials: "same-origin", headers: {"X-CSRFToken":
      document.querySelector("meta[name=csrf-token]").content}};
    if (body) { options.method = "POST"; options.body = body; }
    return fetch(url, options).then(function (response) {
      return response.json().then(function (json) { return {ok: response.ok, body: json}; });
    });
  }

  /** Words for an error answer. */
  function words(body) {
    if (body.detail) return body.detail;
    return Object.keys(body).map(function (key) { return [].concat(body[key]).join(" "); }).join(" ");
  }

  /** Show a download link for the finished export, and start the download. */
  function offerDownload(form, url, filename) {
    var status = form.querySelector(".export-status"), link = document.createElement("a");
    link.href = url;
    link.className = "export-download";
    link.setAttribute("download", filename);
    link.textContent = "Download " + filename;
    status.textContent = "";
    status.appendChild(link);
    link.click();
  }

  /** Follow a job until its file is ready. */
  function follow(form, jobId, filename) {
    var status = form.querySelector(".export-status");
    send("/api/workers/check/" + encodeURIComponent(jobId)).then(function (check) {
      if (!check.ok || check.body.error) {
        status.textContent = check.body.error || words(check.body);
        return;
      }
      if (!check.body.ready) {
        var percent = check.body.progress ? " " + Math.round(check.body.progress * 100) + " %" : "";
        status.textContent = "Exporting…" + percent;
        setTimeout(function () { follow(form, jobId, filename); }, POLL_MS);
        return;
      }
      offerDownload(form, "/api/workers/get/" + encodeURIComponent(jobId) + "?filename=" +
        encodeURIComponent(filename), filename);
    }).catch(function () { status.textContent = "The export could not be followed; try again."; });
  }

  /** Send the export request. */
  function submit(form) {
    var status = form.querySelector(".export-status");
    var body = new URLSearchParams();
    body.set("format", form.format.value);
    if (form.epsg.value) body.set("epsg", form.epsg.value);
    var extra = window.AerieExportParams ? window.AerieExportParams(form.asset.value, form.format.value) : {};
    Object.keys(extra).forEach(function (key) { body.set(key, extra[key]); });
    status.textContent = "Exporting…";
    send(form.dataset.api + form.asset.value + "/export", body).then(function (answer) {
      if (!answer.ok) { status.textContent = words(answer.body); return; }
      if (answer.body.url) offerDownload(form, answer.body.url, answer.body.filename);
      else follow(form, answer.body.celery_task_id, answer.body.filename);
    }).catch(function () { status.textContent = "The export could not be started; try again."; });
  }

  document.querySelectorAll(".export-form").forEach(function (form) {
    offerFormats(form);
    form.asset.addEventListener("change", function () { offerFormats(form); });
    form.addEventListener("submit", function (event) { event.preventDefault(); submit(form); });
  });
})();
