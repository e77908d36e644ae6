// Product page: the price and availability shown follow the chosen variant (the page works without it). They are
// set from the choice itself on every change and whenever the page is shown: after Back, the browser restores the
// choice the shopper made but not the text, and fires no "change".
(() => {
  const chosen = () => {
    const select = document.querySelector("select[name='sku']");
    return select ? select.selectedOptions[0] : document.querySelector("input[name='sku']:checked");
  };
  const show = () => {
    const choice = chosen();
    if (!choice) return;
    const price = document.querySelector("[data-price]:not(input):not(option)");
    const availability = document.querySelector("[data-availability]:not(input):not(option)");
    if (price) price.textContent = choice.dataset.price;
    if (availability) availability.textContent = choice.dataset.availability;
  };
  // Sent back here from the cart (too few left of what was chosen), the address names the choice (#sku=...): it is
  // chosen again if it can still be bought, and the address forgets it, so a reload or Back keeps what the shopper
  // picks after.
  const keepChoice = () => {
    const wanted = new URLSearchParams(location.hash.slice(1)).get("sku");
    if (!wanted) return;
    const choice = [...document.querySelectorAll("[name='sku'] option, input[name='sku']")]
      .find((element) => element.value === wanted && !element.disabled);
    if (choice && choice.tagName === "OPTION") choice.selected = true;
    else if (choice) choice.checked = true;
    history.replaceState(history.state, "", location.pathname + location.search);
  };
  document.querySelectorAll("[name='sku']").forEach((input) => input.addEventListener("change", show));
  window.addEventListener("pageshow", show);
  keepChoice();
  show();
})();
