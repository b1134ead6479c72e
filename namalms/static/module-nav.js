/* Module page, progressive enhancement: the contents beside the text show where the reader is.
   Without JavaScript the contents are plain links and each unit says "Lerneinheit n von N".
   Served by the app itself (the CSP allows no inline or third-party script). */
(function () {
  "use strict";
  var toc = document.querySelector(".module-aside .toc");
  if (!toc || !("IntersectionObserver" in window)) return;
  var links = Array.prototype.slice.call(toc.querySelectorAll("a[href^='#']"));
  var byId = {};
  var targets = [];
  links.forEach(function (link) {
    var target = document.getElementById(decodeURIComponent(link.getAttribute("href").slice(1)));
    if (target) { byId[target.id] = link; targets.push(target); }
  });
  if (!targets.length) return;
  var aside = toc.closest(".module-aside");
  var current = null;

  // The learning unit (level-2 entry) a sub-section entry belongs to.
  function unitOf(item) {
    while (item && !item.classList.contains("toc-level-2")) item = item.previousElementSibling;
    return item;
  }

  function mark(link) {
    if (link === current) return;
    Array.prototype.forEach.call(toc.querySelectorAll(".is-current, .is-current-unit"), function (item) {
      item.classList.remove("is-current", "is-current-unit");
    });
    if (current) current.removeAttribute("aria-current");
    current = link;
    if (!link) return;
    link.setAttribute("aria-current", "location");
    link.parentNode.classList.add("is-current");
    var unit = unitOf(link.parentNode);
    if (unit && unit !== link.parentNode) unit.classList.add("is-current-unit");
    // Keep the marked entry in view inside the sticky contents, without moving the page.
    if (aside && aside.scrollHeight > aside.clientHeight) {
      var box = aside.getBoundingClientRect(), entry = link.getBoundingClientRect();
      if (entry.top < box.top || entry.bottom > box.bottom - 24) {
        aside.scrollTop += entry.top - box.top - aside.clientHeight / 3;
      }
    }
  }

  // The section whose heading was passed last (the reading line sits at a quarter of the screen).
  function update() {
    var line = Math.min(120, window.innerHeight / 4);
    var passed = null;
    for (var i = 0; i < targets.length; i++) {
      if (targets[i].getBoundingClientRect().top <= line) passed = targets[i]; else break;
    }
    mark(passed ? byId[passed.id] : null);
  }

  var observer = new IntersectionObserver(update, {rootMargin: "0px 0px -75% 0px"});
  targets.forEach(function (target) { observer.observe(target); });
  window.addEventListener("hashchange", update);
  update();
})();
