// Upload progress on the forms that send files (Models → + Register, Data → + Create, the wizard's Code step): the
// form is sent by XMLHttpRequest, which reports how much of the body has gone, and the page the server answers with
// (the next page after its redirect, or the form again with its errors) replaces this one. Without this file the
// form posts as usual, with no progress shown.

function megabytes(bytes) {
  return (bytes / (1024 * 1024)).toFixed(1);
}

function uploadStatus(form) {
  let status = form.querySelector(".upload-progress");
  if (!status) {
    status = Object.assign(document.createElement("p"), { className: "upload-progress" });
    status.setAttribute("role", "status");
    const bar = Object.assign(document.createElement("progress"), { max: 100, value: 0 });
    bar.setAttribute("aria-label", "Upload progress");
    status.append(bar, " ", document.createElement("span"));
    form.append(status);
  }
  return status;
}

function showPage(xhr, form) {
  const url = xhr.responseURL || form.action || location.href;
  // replaced, not pushed: a pushed entry would share this document, and Back would change the address only
  if (url !== location.href) history.replaceState(null, "", url);
  document.open();
  document.write(xhr.responseText);
  document.close();
}

document.addEventListener("submit", (event) => {
  const form = event.target;
  const submitter = event.submitter;
  if (event.defaultPrevented || form.enctype !== "multipart/form-data" || !window.FormData) return;
  if (submitter && ["back", "cancel", "goto"].includes(submitter.name)) return;  // leaving the step: nothing to send
  const files = [...form.querySelectorAll("input[type=file]")].flatMap((input) => [...input.files]);
  if (!files.length) return;
  event.preventDefault();
  const names = files.length === 1 ? files[0].name : `${files.length} files`;
  const status = uploadStatus(form);
  const bar = status.querySelector("progress");
  const text = status.querySelector("span");
  const buttons = [...form.querySelectorAll("button[type=submit], button:not([type])")];
  buttons.forEach((button) => { button.disabled = true; });
  const xhr = new XMLHttpRequest();
  xhr.open("POST", form.action || location.href);
  xhr.upload.addEventListener("progress", (progress) => {
    if (!progress.lengthComputable) return;
    const percent = Math.floor((100 * progress.loaded) / progress.total);
    bar.value = percent;
    text.textContent = `Uploading ${names}: ${megabytes(progress.loaded)} of ${megabytes(progress.total)} MB (${percent}%)`;
  });
  xhr.upload.addEventListener("load", () => {
    bar.value = 100;
    text.textContent = `Uploaded ${names}: the server is checking it…`;
  });
  xhr.addEventListener("load", () => showPage(xhr, form));
  xhr.addEventListener("error", () => {
    buttons.forEach((button) => { button.disabled = false; });
    text.textContent = `The upload of ${names} failed (the connection was lost): try again.`;
    status.classList.add("error");
  });
  text.textContent = `Uploading ${names}…`;
  xhr.send(new FormData(form, submitter || undefined));
});
