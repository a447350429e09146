// Shared page behaviour: nothing here is required for a form to work, it only makes pages livelier.
document.addEventListener("htmx:responseError", (e) => {
  // show the server's error fragment in place instead of failing silently
  const target = e.detail.target;
  if (target && e.detail.xhr.responseText) target.insertAdjacentHTML("afterbegin", e.detail.xhr.responseText);
});
