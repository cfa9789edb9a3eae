// The console's only script of its own (no inline script: the Content-Security-Policy).
// A refused htmx request that has no swap of its own shows its message in #messages.
document.addEventListener("htmx:responseError", function (event) {
  var box = document.getElementById("messages");
  if (!box) { return; }
  var xhr = event.detail.xhr;
  var type = xhr.getResponseHeader("Content-Type") || "";
  if (type.indexOf("text/html") === 0) {
    box.innerHTML = xhr.responseText;  // our own page part: parts/message.html
  } else {
    box.textContent = xhr.status + " " + xhr.statusText;
  }
});
