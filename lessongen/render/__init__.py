"""Renderers: the lesson as a web page, CodeTour tours and captions, from script.json and the repository."""
