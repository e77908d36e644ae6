// Product page: picking a variant updates the price and availability shown (the page works without it).
document.querySelectorAll('input[name="sku"]').forEach((input) => {
  input.addEventListener("change", () => {
    const price = document.querySelector("[data-price]:not(input)");
    const availability = document.querySelector("[data-availability]:not(input)");
    if (price) price.textContent = input.dataset.price;
    if (availability) availability.textContent = input.dataset.availability;
  });
});
