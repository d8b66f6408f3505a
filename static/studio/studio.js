// Small progressive enhancements; every page works without this file.

// What a screen reader says after an action that changes nothing else it would read (a copy to the clipboard).
function announce(message) {
  let region = document.getElementById("announcer");
  if (!region) {
    region = Object.assign(document.createElement("p"), { id: "announcer", className: "visually-hidden" });
    region.setAttribute("role", "status");
    document.body.append(region);
  }
  region.textContent = message;
}

// Copy buttons work with this file only: hidden until it runs.
document.querySelectorAll("[data-copy][hidden], [data-js-only][hidden]").forEach((button) => { button.hidden = false; });
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const text = document.querySelector(button.dataset.copy)?.textContent.trim() || "";
  const done = () => {
    button.textContent = "Copied";
    announce(`${(button.getAttribute("aria-label") || "Copy").replace(/^Copy (the )?/, "")} copied to the clipboard`);
    setTimeout(() => { button.textContent = "Copy"; }, 2000);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done);
  } else {
    const area = Object.assign(document.createElement("textarea"), { value: text });
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
    done();
  }
});

// The datastore browser's Pick (studio/_datastore_browser.html) fills its target input and says it changed; here, not
// in an onclick attribute, which the Content-Security-Policy does not run.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button.pick[data-target]");
  const target = button && document.getElementById(button.dataset.target);
  if (!target) return;
  target.value = button.dataset.value;
  target.dispatchEvent(new Event("change", { bubbles: true }));
});

// A datastore choice reloads the datastore browser beside it (see jobs/create.html).
document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-browse]");
  if (!select || !window.htmx) return;
  const url = select.dataset.browse.replace("__name__", encodeURIComponent(select.value));
  htmx.ajax("GET", url, { target: select.dataset.browseTarget, swap: "innerHTML" });
});

// A form whose action cannot be undone asks first (data-confirm); without JavaScript it submits at once.
document.addEventListener("submit", (event) => {
  const message = event.target.dataset?.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

// A form whose fields depend on a choice (data-show-by: the field's name; data-fields: choice -> fields) shows only
// the fields of the chosen value; without JavaScript every field shows and the server ignores the others.
document.querySelectorAll("form[data-show-by]").forEach((form) => {
  const choice = form.querySelector(`[name="${form.dataset.showBy}"]`);
  const groups = JSON.parse(form.dataset.fields);
  const show = () => {
    for (const [value, names] of Object.entries(groups)) {
      for (const name of names) {
        const field = form.querySelector(`.field-${name}`);
        if (field) field.hidden = choice.value !== value;
      }
    }
  };
  choice?.addEventListener("change", show);
  if (choice) show();
});

// + Create job: what an empty field keeps (placeholders, a dropdown's first choice) follows the chosen deployment.
document.querySelectorAll("select[data-defaults]").forEach((select) => {
  const all = JSON.parse(document.getElementById(select.dataset.defaults).textContent);
  select.addEventListener("change", () => {
    for (const [name, text] of Object.entries(all[select.value] || {})) {
      const field = select.form.elements[name];
      if (field instanceof HTMLSelectElement) field.options[0].textContent = text;
      else if (field) field.placeholder = text;
    }
  });
});

// A wizard's step list goes back as Back does, keeping what was typed on this step (a plain link, without this file).
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-wizard-step]");
  const form = document.getElementById("wizard-form");
  if (!link || !form) return;
  event.preventDefault();
  form.append(Object.assign(document.createElement("input"), { type: "hidden", name: "goto", value: link.dataset.wizardStep }));
  form.noValidate = true;  // as Back: what is not valid yet is kept, not refused
  form.submit();
});

// After a refused submit the keyboard starts at the first field that says what is wrong (or at what the form as a
// whole was refused for, the next Tab reaching its first field), not a dozen Tabs away at the top of the page.
(document.querySelector(".has-error :is(input:not([type=hidden]), select, textarea)")
  || document.querySelector(".errors[role=alert]"))?.focus();

// A log opened from a link far above (a mini-batch's Logs) comes into view, its text focused for the keyboard.
document.addEventListener("htmx:afterSwap", (event) => {
  if (event.detail.target?.id !== "log-viewer") return;
  event.detail.target.scrollIntoView({ block: "start" });
  event.detail.target.querySelector("pre.log")?.focus({ preventScroll: true });
});
