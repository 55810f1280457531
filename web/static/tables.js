// Search, filter and sort a table in place, as the user types. Without this file the same form
// is sent to the server, which filters and sorts the same way (?q=, ?scope=, ?sort=).
document.documentElement.classList.add("js");

const SORTS = {  // sort key -> [row data attribute, newest first]
  created: ["created", true],
  name: ["name", false],
  expires: ["expires", false],
  last_used: ["last_used", true],
};

function applyTools(form) {
  const table = document.getElementById(form.dataset.tableTools);
  if (!table) return;
  const body = table.tBodies[0];
  const text = form.querySelector("[data-filter-text]").value.trim().toLowerCase();
  const scope = form.querySelector("[data-filter-scope]").value;
  const [key, newestFirst] = SORTS[form.querySelector("[data-sort-select]").value] || SORTS.created;
  const rows = Array.from(body.rows);
  rows.sort((a, b) => {
    const order = (a.dataset[key] || "").localeCompare(b.dataset[key] || "");
    return newestFirst ? -order : order;
  });
  let shown = 0;
  for (const row of rows) {
    const match = (!text || row.dataset.text.includes(text))
      && (!scope || row.dataset.scopes.split(" ").includes(scope));
    row.hidden = !match;
    if (match) shown += 1;
    body.appendChild(row);
  }
  const none = table.parentElement.querySelector("[data-no-match]");
  if (none) none.hidden = shown > 0;
  const url = new URL(window.location.href);
  for (const [name, value] of new FormData(form)) {
    if (value && !(name === "sort" && value === "created")) url.searchParams.set(name, value);
    else url.searchParams.delete(name);
  }
  window.history.replaceState(null, "", url);
}

document.addEventListener("input", (event) => {
  const form = event.target.closest("form[data-table-tools]");
  if (form) applyTools(form);
});
document.addEventListener("submit", (event) => {
  if (event.target.matches("form[data-table-tools]")) {
    event.preventDefault();
    applyTools(event.target);
  }
});
