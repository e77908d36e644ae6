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
  document.querySelectorAll("[name='sku']").forEach((input) => input.addEventListener("change", show));
  window.addEventListener("pageshow", show);
  show();
})();
