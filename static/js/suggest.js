// Search-as-you-type: products from /api/v1/suggest/ in a list under the search box, each a link to its page (the
// box works without it). Not a <datalist>: a browser shows only the options containing what was typed, so the
// typo-tolerant matches ("jaket" -> "Jacket") were hidden, and choosing one only filled the box and searched.
(() => {
  const input = document.getElementById("search-q");
  const list = document.getElementById("search-suggestions");
  if (!input || !list || !window.fetch) return;
  let timer = null;
  let active = -1;
  const options = () => [...list.querySelectorAll("[role='option']")];
  const close = () => {
    list.hidden = true;
    active = -1;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  };
  const highlight = (index) => {
    const all = options();
    active = (index + all.length) % all.length;
    all.forEach((option, i) => option.setAttribute("aria-selected", String(i === active)));
    input.setAttribute("aria-activedescendant", all[active].id);
  };
  const show = (suggestions) => {
    list.replaceChildren(...suggestions.map((s, i) => {
      const item = Object.assign(document.createElement("li"), { id: `suggestion-${i}` });
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", "false");
      item.append(Object.assign(document.createElement("a"), { href: s.url, textContent: s.name, tabIndex: -1 }));
      return item;
    }));
    active = -1;
    list.hidden = !suggestions.length;
    input.setAttribute("aria-expanded", String(!!suggestions.length));
  };
  input.addEventListener("input", () => {
    clearTimeout(timer);
    const q = input.value.trim();
    if (q.length < 2) return close();
    timer = setTimeout(async () => {
      try {
        const response = await fetch(`/api/v1/suggest/?q=${encodeURIComponent(q)}`, { headers: { Accept: "application/json" } });
        if (!response.ok) return;
        const { suggestions } = await response.json();
        if (input.value.trim() === q) show(suggestions);
      } catch (_) { /* suggestions are a nicety */ }
    }, 150);
  });
  input.addEventListener("keydown", (event) => {
    if (list.hidden || !options().length) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      highlight(active + (event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "Enter" && active >= 0) {
      event.preventDefault();  // open the product, not a search for its name
      window.location.assign(options()[active].querySelector("a").href);
    } else if (event.key === "Escape") {
      close();
    }
  });
  input.addEventListener("blur", () => setTimeout(close, 200));  // a click on a link lands first
})();
