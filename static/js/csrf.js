// The page every first-time visitor gets is the same bytes for all (store/core/pagecache.py), so its forms carry
// no CSRF token. When such a form is sent, ask the shop for this visitor's token (/csrf/ also sets the cookie it
// belongs to), put it in, and send the form as the shopper sent it. Without JavaScript, the shop answers the form
// with a page that asks to confirm it (store/core/views.py csrf_failure).
(() => {
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    const field = form.querySelector("input[name='csrfmiddlewaretoken']");
    if (!field || field.value || form.dataset.csrfSending) return;
    event.preventDefault();
    // sent again (a double press) while the token is on its way: the first sending goes, with the token; let
    // through, this one would go without it and the shopper would land on the page asking to confirm
    if (form.dataset.csrfPending) return;
    form.dataset.csrfPending = "1";
    try {
      const answer = await fetch("/csrf/", { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (answer.ok) field.value = (await answer.json()).token;
    } catch (error) {
      // offline or refused: the form goes as it is, and the shop asks the shopper to confirm it
    }
    form.dataset.csrfSending = "1"; // the submit event requestSubmit fires now is this one's: let it go
    try {
      if (typeof form.requestSubmit === "function") form.requestSubmit(event.submitter || undefined);
      else form.submit(); // Safari before 16: no second submit event, and the pressed button's name is not sent
    } finally {
      delete form.dataset.csrfSending;
      delete form.dataset.csrfPending;
    }
  });
})();
