// The lesson's keyboard navigation and presenter mode. Static: nothing here comes from the model;
// the timeline is read from the inert JSON block, and every text is set with textContent.
"use strict";

(function () {
  const data = JSON.parse(document.getElementById("lesson-data").textContent);
  const scenes = data.scenes.map((s) => Object.assign({ el: document.getElementById(s.id) }, s));
  const chapters = Array.from(document.querySelectorAll("section.chapter"));
  const presenter = document.getElementById("presenter");
  const progress = document.getElementById("progress");
  const position = document.getElementById("position");
  let current = 0;

  function clock(seconds) {
    const whole = Math.round(seconds);
    return Math.floor(whole / 60) + ":" + String(whole % 60).padStart(2, "0");
  }

  function presenting() {
    return document.body.classList.contains("presenting");
  }

  function show(index) {
    if (!scenes.length) return;
    current = Math.max(0, Math.min(scenes.length - 1, index));
    scenes.forEach((s, i) => s.el.classList.toggle("current", i === current));
    const scene = scenes[current];
    const chapter = document.getElementById(scene.chapter);
    chapters.forEach((c) => c.classList.toggle("current", c === chapter));
    progress.value = current + 1;
    const title = scene.el.querySelector("h3").textContent;
    position.textContent = "Scene " + (current + 1) + " of " + scenes.length + ": " + title +
      " (" + clock(scene.start) + " of " + clock(data.duration) + ")";
    scene.el.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }

  function present(on) {
    document.body.classList.toggle("presenting", on);
    presenter.hidden = !on;
    if (on) {
      show(current);
    } else if (scenes.length) {
      scenes[current].el.scrollIntoView();
      scenes[current].el.focus({ preventScroll: true });
    }
  }

  function chapterIndex() {
    if (presenting()) return chapters.indexOf(document.getElementById(scenes[current].chapter));
    const top = chapters.findIndex((c) => c.getBoundingClientRect().bottom > 1);
    return top < 0 ? chapters.length - 1 : top;
  }

  function goChapter(index) {
    const target = chapters[Math.max(0, Math.min(chapters.length - 1, index))];
    if (!target) return;
    if (presenting()) {
      show(scenes.findIndex((s) => s.chapter === target.id));
    } else {
      target.scrollIntoView();
      target.focus({ preventScroll: true });
    }
  }

  const presenterKeys = {
    ArrowRight: () => show(current + 1), PageDown: () => show(current + 1), " ": () => show(current + 1),
    ArrowLeft: () => show(current - 1), PageUp: () => show(current - 1),
    Home: () => show(0), End: () => show(scenes.length - 1), Escape: () => present(false),
  };

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest && event.target.closest("input, textarea, select, button")) {
      if (event.key !== "Escape") return;
    }
    let action = null;
    if (event.key === "p") action = () => present(!presenting());
    else if (event.key === "]") action = () => goChapter(chapterIndex() + 1);
    else if (event.key === "[") action = () => goChapter(chapterIndex() - 1);
    else if (presenting()) action = presenterKeys[event.key] || null;
    if (action) {
      event.preventDefault();
      action();
    }
  });

  // A chapter link moves the keyboard focus too, so Tab continues from the chapter.
  document.querySelectorAll("#toc a[href^='#']").forEach((link) => {
    link.addEventListener("click", () => {
      const target = document.getElementById(link.getAttribute("href").slice(1));
      if (!target) return;
      if (presenting()) present(false);
      window.setTimeout(() => target.focus({ preventScroll: true }), 0);
    });
  });

  document.getElementById("present").addEventListener("click", () => present(true));
  document.getElementById("leave").addEventListener("click", () => present(false));
  document.getElementById("next").addEventListener("click", () => show(current + 1));
  document.getElementById("previous").addEventListener("click", () => show(current - 1));
  document.getElementById("controls").hidden = false;
})();
