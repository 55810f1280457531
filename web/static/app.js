// Progressive enhancement only: every page works without this file. The pages' CSP allows no
// inline script or handler: behaviour is attached here, by data attributes.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const input = document.getElementById(button.dataset.copy);
  input.select();
  try {
    await navigator.clipboard.writeText(input.value);
  } catch (err) {
    document.execCommand("copy");
  }
  button.textContent = "Copied";
  setTimeout(() => { button.textContent = "Copy"; }, 2000);
});
document.addEventListener("change", (event) => {
  if (event.target.matches("[data-autosubmit]")) event.target.form.requestSubmit();
  if (event.target.id === "expiry") {
    document.getElementById("custom-date").hidden = event.target.value !== "custom";
  }
});
document.addEventListener("focusin", (event) => {
  if (event.target.matches("[data-select-on-focus]")) event.target.select();
});
// A date input writes the day in the browser's own format (mm/dd/yyyy for many): the output next
// to it says the chosen day the way every page writes dates ("27 Nov 2026").
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
function dayInWords(value) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  return match ? `${Number(match[3])} ${MONTHS[Number(match[2]) - 1]} ${match[1]}` : "";
}
document.addEventListener("input", (event) => {
  for (const output of document.querySelectorAll(`[data-day-of="${event.target.id}"]`)) {
    output.textContent = dayInWords(event.target.value);
  }
});
