"""Sphinx configuration of the site `make site` builds (ci/site.py, which stages the pages' sources in
build/site-src/): the notebooks a test run executed, with their outputs, read without running them."""

project = "Durable AI agents: the OpenAI Agents SDK inside Temporal"
html_title = "Durable AI agents — executed notebooks"

# myst-nb renders the outputs a notebook holds and runs nothing; its Markdown cells are MyST.
extensions = ["myst_nb"]
nb_execution_mode = "off"
# ci/site.py stages each widget as its last state, in HTML: no widget JavaScript (myst-nb's comes from a CDN).
nb_ipywidgets_js = {}
myst_enable_extensions = ["colon_fence"]  # the ::: notes ci/site.py puts on each page
myst_heading_anchors = 3  # the README's links to its own sections, on the index

# Furo brings its own assets: no web fonts, no CDN. No maths on any page, so no MathJax either.
html_theme = "furo"
html_show_sourcelink = False
html_copy_source = False
