/* The report's script: search, filters, sorting, and the member lists and article texts, built on demand.
   Reads the JSON in #report-data:
     day0     ISO date of day 0 (dates are day numbers from it; -1 = no date), or null
     outlets  outlet names (outlet numbers index it; -1 = unknown)
     since    "new since" text, or null without changes.json
     arts     one row per listed article: [0 id, 1 title, 2 outlet, 3 day, 4 url, 5 flags (1 new, 2 untitled),
              6 copies, 7 text pieces [[start, text], ...] or 0, 8 cited spans, 9 boilerplate spans, 10 text length]
     themes   {id, s: label and keywords, r: listed article rows, d/o: day and outlet of every member, n: size,
              l: last day, c: "new"|"grown"|"unchanged"|"", nn: new members, u: 1 for the unclustered}
   Article text only ever enters the page through textContent / text nodes. */
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("report-data").textContent);
  var A = D.arts, T = D.themes, O = D.outlets;
  var DAY0 = D.day0 ? Date.parse(D.day0 + "T00:00:00Z") : null;
  var cards = [], rowOf = {}, themeOfRow = {};
  var F = {words: [], o: -1, lo: -Infinity, hi: Infinity, dated: false, only: false};

  function $(id) { return document.getElementById(id); }
  function norm(s) { return (s || "").toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, ""); }
  function isoDay(k) { return new Date(DAY0 + k * 864e5).toISOString().slice(0, 10); }
  function dayOf(v) {
    if (!v || DAY0 === null) return null;
    var t = Date.parse(v + "T00:00:00Z");
    return isNaN(t) ? null : Math.round((t - DAY0) / 864e5);
  }
  function el(tag, cls, text) {
    var x = document.createElement(tag);
    if (cls) x.className = cls;
    if (text !== undefined && text !== null) x.textContent = text;
    return x;
  }
  function plural(n, w) { return n.toLocaleString("en") + " " + w + (n === 1 ? "" : "s"); }

  Array.prototype.forEach.call(document.querySelectorAll("details.theme"), function (c) {
    cards[+c.getAttribute("data-i")] = c;
    c.addEventListener("toggle", function () { if (c.open) renderRows(+c.getAttribute("data-i")); });
  });
  A.forEach(function (a, r) { rowOf[a[0]] = r; });
  T.forEach(function (t, i) {
    t.hay = norm(t.s);
    t.titles = t.r.map(function (r) { return norm(A[r][1]); });
    t.r.forEach(function (r) { themeOfRow[r] = i; });
  });

  /* ---- member lists and article texts ---- */
  function rowOk(a) {
    if (F.o >= 0 && a[2] !== F.o) return false;
    if (F.dated && (a[3] < 0 || a[3] < F.lo || a[3] > F.hi)) return false;
    return !F.only || (a[5] & 1) === 1 || !D.since;
  }
  function titleHit(title) {
    return F.words.length > 0 && F.words.every(function (w) { return title.indexOf(w) >= 0; });
  }
  function filterRows(i) {
    var t = T[i];
    if (!t.li) return;
    t.li.forEach(function (li, k) {
      li.hidden = !rowOk(A[t.r[k]]);
      li.classList.toggle("hit", titleHit(t.titles[k]));
    });
  }
  function renderRows(i) {
    var t = T[i];
    if (!t || t.li) return;
    var ol = cards[i] && cards[i].querySelector("ol.rows");
    if (!ol) return;
    var frag = document.createDocumentFragment();
    t.li = t.r.map(function (r) { var li = rowEl(r); frag.appendChild(li); return li; });
    ol.appendChild(frag);
    filterRows(i);
  }
  function rowEl(r) {
    var a = A[r], li = el("li"), d = el("details", "art"), s = el("summary");
    d.id = "art-" + a[0];
    s.appendChild(el("span", a[5] & 2 ? "at untitled" : "at", a[1]));
    var bits = [];
    if (a[2] >= 0) bits.push(O[a[2]]);
    if (a[3] >= 0) bits.push(isoDay(a[3]));
    if (a[6] > 1) bits.push(a[6] + " copies");
    if (bits.length) s.appendChild(el("span", "meta", " · " + bits.join(" · ")));
    if (a[5] & 1) s.appendChild(el("span", "badge new", "new"));
    if (a[4]) {
      var u = el("a", "url", "link \u2197");
      u.href = a[4]; u.title = a[4]; u.target = "_blank"; u.rel = "noopener noreferrer";
      s.appendChild(u);
    }
    d.appendChild(s);
    d.addEventListener("toggle", function () { if (d.open) renderText(r, d); });
    li.appendChild(d);
    return li;
  }
  function spanAt(spans, x) {
    for (var k = 0; k < spans.length; k++) if (spans[k][0] <= x && x < spans[k][1]) return spans[k];
    return null;
  }
  function paint(box, a, start, text) {
    var end = start + text.length, cuts = [start, end], marks = a[8], bp = a[9];
    marks.concat(bp).forEach(function (s) {
      if (s[0] > start && s[0] < end) cuts.push(s[0]);
      if (s[1] > start && s[1] < end) cuts.push(s[1]);
    });
    cuts.sort(function (x, y) { return x - y; });
    var cur = null, curSpan = null;
    for (var k = 0; k + 1 < cuts.length; k++) {
      var x = cuts[k], y = cuts[k + 1];
      if (y <= x) continue;
      var piece = text.slice(x - start, y - start), m = spanAt(marks, x);
      var node = spanAt(bp, x) ? el("span", "bp", piece) : document.createTextNode(piece);
      if (!m) { curSpan = null; box.appendChild(node); continue; }
      if (m !== curSpan) { cur = el("mark"); cur.id = "c-" + a[0] + "-" + m[0] + "-" + m[1]; box.appendChild(cur); curSpan = m; }
      cur.appendChild(node);
    }
  }
  function renderText(r, d) {
    if (d.getAttribute("data-done")) return;
    d.setAttribute("data-done", "1");
    var a = A[r], src = el("div", "src"), box = el("div", "atext");
    if (a[4]) {
      var u = el("a", null, a[4]);
      u.href = a[4]; u.target = "_blank"; u.rel = "noopener noreferrer";
      src.appendChild(u);
    }
    if (a[6] > 1) src.appendChild(document.createTextNode((a[4] ? " · " : "") + a[6] + " copies collapsed into this one"));
    if (src.childNodes.length) d.appendChild(src);
    if (!a[7]) {
      d.appendChild(el("p", "meta", "This article's text is not in the page (size limit); it is in articles.jsonl" +
        (a[4] ? " and at the link above." : ".")));
      return;
    }
    var pos = 0;
    a[7].forEach(function (seg) {
      if (seg[0] > pos) box.appendChild(el("span", "gap", pos ? " […] " : "[…] "));
      paint(box, a, seg[0], seg[1]);
      pos = seg[0] + seg[1].length;
    });
    if (pos < a[10]) box.appendChild(el("span", "gap", " […]"));
    d.appendChild(box);
  }

  /* ---- navigation: theme ids, article rows (art-ID) and cited passages (c-ID-start-end) ---- */
  function go(id) {
    var target = $(id), aid = null;
    if (id.indexOf("art-") === 0) aid = id.slice(4);
    else if (id.indexOf("c-") === 0) aid = id.slice(2).replace(/-\d+-\d+$/, "");
    if (aid !== null && rowOf[aid] !== undefined) {
      var r = rowOf[aid], i = themeOfRow[r];
      renderRows(i);
      cards[i].open = true;
      var d = $("art-" + aid);
      if (d) { d.open = true; renderText(r, d); }
      target = $(id);
    }
    if (!target) return false;
    for (var p = target; p; p = p.parentElement) {
      if (p.tagName === "DETAILS" && !p.open) {
        p.open = true;
        if (p.hasAttribute("data-i")) renderRows(+p.getAttribute("data-i"));
      }
    }
    if (target.tagName === "DETAILS" && target.hasAttribute("data-i")) { target.hidden = false; target.open = true; }
    target.scrollIntoView({block: target.tagName === "MARK" ? "center" : "start"});
    if (target.tagName === "MARK") {
      var old = document.querySelector("mark.flash");
      if (old) old.classList.remove("flash");
      target.classList.add("flash");
    }
    return true;
  }
  document.addEventListener("click", function (ev) {
    var t = ev.target;
    if (!t || !t.closest) return;
    var a = t.closest('a[href^="#"]');
    if (a) {
      var id = decodeURIComponent(a.getAttribute("href").slice(1));
      if (go(id)) {
        ev.preventDefault();
        try { history.replaceState(null, "", "#" + encodeURIComponent(id)); } catch (e) { /* file: URLs */ }
      }
      return;
    }
    var g = t.closest("svg.map g[data-t]");
    if (g) go(g.getAttribute("data-t"));
  });
  window.addEventListener("hashchange", function () { go(decodeURIComponent(location.hash.slice(1))); });

  /* ---- search, filters and sorting ---- */
  var q = $("q"), os = $("outlet"), fr = $("from"), to = $("to"), so = $("sort"), nw = $("newonly");
  var box = $("themes"), count = $("count"), lastOrder = "";
  function apply() {
    F.words = norm(q.value).split(/\s+/).filter(Boolean);
    F.o = os && os.value !== "" ? +os.value : -1;
    var f = fr ? dayOf(fr.value) : null, t2 = to ? dayOf(to.value) : null;
    F.dated = f !== null || t2 !== null;
    F.lo = f === null ? -Infinity : f;
    F.hi = t2 === null ? Infinity : t2;
    F.only = !!(nw && nw.checked);
    var shown = [], hidden = [], nThemes = 0, nArts = 0, unc = -1;
    T.forEach(function (t, i) {
      var c = cards[i];
      if (!c) return;
      if (t.u) unc = i;
      var m = t.n;
      if (F.o >= 0 || F.dated) {
        m = 0;
        for (var j = 0; j < t.d.length; j++) {
          if ((F.o < 0 || t.o[j] === F.o) && (!F.dated || (t.d[j] >= 0 && t.d[j] >= F.lo && t.d[j] <= F.hi))) m++;
        }
      }
      var ok = m > 0 && (!F.only || t.c === "new" || t.c === "grown" || t.nn > 0), inLabel = false, hits = 0;
      if (ok && F.words.length) {
        inLabel = F.words.every(function (w) { return t.hay.indexOf(w) >= 0; });
        hits = t.titles.filter(titleHit).length;
        ok = inLabel || hits > 0 || F.words.every(function (w) {
          return t.hay.indexOf(w) >= 0 || t.titles.some(function (x) { return x.indexOf(w) >= 0; });
        });
      }
      c.hidden = !ok;
      var notes = [];
      if (ok && m < t.n) notes.push(m.toLocaleString("en") + " of " + t.n.toLocaleString("en") + " match");
      if (ok && hits) notes.push(plural(hits, "matching title"));
      c.querySelector(".hits").textContent = notes.join(" · ");
      if (ok) {
        if (!t.u) { nThemes++; nArts += m; }
        shown.push({i: i, m: m, lab: inLabel ? 1 : 0, hits: hits});
      } else hidden.push(i);
      filterRows(i);
    });
    var recent = so && so.value === "recent";
    shown.sort(function (x, y) {
      if (T[x.i].u !== T[y.i].u) return T[x.i].u ? 1 : -1;
      if (F.words.length && x.lab !== y.lab) return y.lab - x.lab;
      if (F.words.length && x.hits !== y.hits) return y.hits - x.hits;
      if (recent && T[x.i].l !== T[y.i].l) return T[y.i].l - T[x.i].l;
      if (x.m !== y.m) return y.m - x.m;
      return x.i - y.i;
    });
    var order = shown.map(function (x) { return x.i; }).concat(hidden);
    if (order.join(",") !== lastOrder) {
      var frag = document.createDocumentFragment();
      order.forEach(function (i) { frag.appendChild(cards[i]); });
      box.appendChild(frag);
      lastOrder = order.join(",");
    }
    var total = T.length - (unc >= 0 ? 1 : 0);
    count.textContent = (nThemes === total ? plural(total, "theme") : nThemes.toLocaleString("en") + " of " + plural(total, "theme")) +
      (nThemes < total || F.o >= 0 || F.dated ? " · " + plural(nArts, "article") : "");
    saveState();
  }
  function saveState() {
    var p = new URLSearchParams();
    if (q.value) p.set("q", q.value);
    if (os && os.value !== "") p.set("outlet", O[+os.value]);
    if (fr && fr.value) p.set("from", fr.value);
    if (to && to.value) p.set("to", to.value);
    if (so && so.value !== "size") p.set("sort", so.value);
    if (nw && nw.checked) p.set("new", "1");
    var s = p.toString();
    try { history.replaceState(null, "", (s ? "?" + s : location.pathname) + location.hash); } catch (e) { /* file: URLs */ }
  }
  function loadState() {
    var p = new URLSearchParams(location.search);
    if (p.get("q")) q.value = p.get("q");
    if (os && p.get("outlet") !== null && O.indexOf(p.get("outlet")) >= 0) os.value = String(O.indexOf(p.get("outlet")));
    if (fr && p.get("from")) fr.value = p.get("from");
    if (to && p.get("to")) to.value = p.get("to");
    if (so && p.get("sort") === "recent" && so.querySelector('option[value="recent"]')) so.value = "recent";
    if (nw && p.get("new") === "1") nw.checked = true;
  }
  var timer = null;
  q.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(apply, 120); });
  q.addEventListener("change", apply);
  [os, fr, to, so, nw].forEach(function (x) { if (x) x.addEventListener("change", apply); });
  loadState();
  apply();
  if (location.hash.length > 1) go(decodeURIComponent(location.hash.slice(1)));
})();
