// Forms with data-confirm ask before they are sent (the Content-Security-Policy forbids inline onsubmit handlers).
document.addEventListener("submit", function (event) {
  var message = event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});
