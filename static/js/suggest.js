// Search-as-you-type: fills the search box's suggestion list from /api/v1/suggest/ (the box works without it).
(() => {
  const input = document.getElementById("search-q");
  const list = document.getElementById("search-suggestions");
  if (!input || !list || !window.fetch) return;
  let timer = null;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    const q = input.value.trim();
    if (q.length < 2) return;
    timer = setTimeout(async () => {
      try {
        const response = await fetch(`/api/v1/suggest/?q=${encodeURIComponent(q)}`, { headers: { Accept: "application/json" } });
        if (!response.ok) return;
        const { suggestions } = await response.json();
        list.replaceChildren(...suggestions.map((s) => Object.assign(document.createElement("option"), { value: s.name })));
      } catch (_) { /* suggestions are a nicety */ }
    }, 150);
  });
})();
