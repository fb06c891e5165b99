"""Sphinx helpers of the sksoftmax documentation.

* ``mathml`` math renderer: LaTeX in ``:math:`` and ``.. math::`` is turned
  into MathML when the pages are built (with ``latex2mathml``), so browsers
  draw it natively, with no script and no network.
* ``panel_scraper``: sphinx-gallery's matplotlib scraper that also saves each
  panel of a multi-panel figure on its own, so that an example can name one
  panel as its thumbnail::

      # sphinx_gallery_thumbnail_path = "_build/panels/x_1_2.png"

  (figure 1 of ``plot_x.py``, its second axes).
* ``intersphinx_mapping_available``: the intersphinx mapping restricted to the
  inventories that can be read now (downloaded into a cache, or cached by an
  earlier build), so that a build without network has no failing fetch.
"""

import threading
import time
import urllib.request
from pathlib import Path

from docutils import nodes

# -- MathML --------------------------------------------------------------------


def _mathml(latex, display):
    from latex2mathml.converter import convert

    return convert(latex.strip(), display="block" if display else "inline")


def _visit_math(self, node):
    self.body.append(self.starttag(node, "span", "", CLASS="math notranslate"))
    self.body.append(_mathml(node.astext(), display=False))
    self.body.append("</span>")
    raise nodes.SkipNode


def _visit_displaymath(self, node):
    from sphinx.util.math import get_node_equation_number

    self.body.append(self.starttag(node, "div", CLASS="math notranslate"))
    if node["number"]:
        number = get_node_equation_number(self, node)
        self.body.append(f'<span class="eqno">({number})</span>')
    # Like Sphinx's MathJax renderer, a blank line separates equations: each
    # is drawn as its own centred line.
    for part in node.astext().split("\n\n"):
        if part.strip():
            self.body.append(_mathml(part, display=True))
    self.body.append("</div>\n")
    raise nodes.SkipNode


# -- Gallery thumbnails -----------------------------------------------------------


def panel_path(src_dir, src_file, figure, panel):
    """Where ``panel_scraper`` saves one panel of an example's figure.

    Parameters
    ----------
    src_dir : path-like
        The documentation's source folder (``docs``).
    src_file : path-like
        The example script.
    figure, panel : int
        The figure's number in the example and the panel's in the figure,
        both from 1.

    Returns
    -------
    path : pathlib.Path
        ``<src_dir>/_build/panels/<name>_<figure>_<panel>.png``, where
        ``<name>`` is the script's name without ``plot_``.
    """
    name = Path(src_file).stem.removeprefix("plot_")
    return Path(src_dir) / "_build" / "panels" / f"{name}_{figure}_{panel}.png"


def save_panels(figure, path):
    """Save each panel of ``figure`` on its own, if it has more than one.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
        The figure.
    path : callable
        ``path(panel)`` gives the file of panel number ``panel`` (from 1).

    Returns
    -------
    paths : list of pathlib.Path
        The files written (none for a figure with one panel).
    """
    axes = [ax for ax in figure.axes if ax.get_visible() and ax.has_data()]
    if len(axes) < 2:
        return []
    # Lay the figure out first (constrained or tight layout moves the axes
    # when drawn), so that the boxes are those of the saved figure.
    figure.draw_without_rendering()
    renderer = figure.canvas.get_renderer()
    written = []
    for panel, ax in enumerate(axes, start=1):
        target = Path(path(panel))
        target.parent.mkdir(parents=True, exist_ok=True)
        box = ax.get_tightbbox(renderer).transformed(figure.dpi_scale_trans.inverted())
        figure.savefig(target, bbox_inches=box.padded(0.05))
        written.append(target)
    return written


def panel_scraper(block, block_vars, gallery_conf, **kwargs):
    """Save every panel of multi-panel figures, then scrape as usual.

    An example takes one panel as its thumbnail with, for its first figure's
    second panel::

        # sphinx_gallery_thumbnail_path = "_build/panels/name_1_2.png"

    Parameters
    ----------
    block, block_vars, gallery_conf, **kwargs
        As for :func:`sphinx_gallery.scrapers.matplotlib_scraper`.

    Returns
    -------
    rst : str
        What the matplotlib scraper returns.
    """
    import matplotlib.pyplot as plt
    from sphinx_gallery.scrapers import matplotlib_scraper

    first = len(block_vars["image_path_iterator"]) + 1
    for index, number in enumerate(plt.get_fignums(), start=first):
        save_panels(plt.figure(number), lambda panel, index=index: panel_path(
            gallery_conf["src_dir"], block_vars["src_file"], index, panel))
    return matplotlib_scraper(block, block_vars, gallery_conf, **kwargs)


# -- Intersphinx ------------------------------------------------------------------


def _readable_inventory(path):
    from sphinx.util.inventory import InventoryFile

    try:
        with open(path, "rb") as stream:
            InventoryFile.load(stream, "", lambda base, loc: loc)
    except Exception:  # any unreadable file is no inventory
        return False
    return True


def _fetch(url, path, timeout):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data = response.read()
    except Exception:  # offline, DNS, HTTP errors alike
        return
    partial = path.with_suffix(".part")
    partial.write_bytes(data)
    if _readable_inventory(partial):
        partial.replace(path)
    else:
        partial.unlink()


def intersphinx_mapping_available(projects, cache_dir, timeout=5.0, fetch=_fetch):
    """Intersphinx mapping of the projects whose inventory can be read now.

    Parameters
    ----------
    projects : dict of str to str
        Name to the base URL of each project's documentation.
    cache_dir : path-like
        Where the inventories are downloaded to (and read from, by Sphinx).
    timeout : float, default=5.0
        Seconds allowed to each download.
    fetch : callable, default=_fetch
        ``fetch(url, path, timeout)`` downloads ``url`` to ``path`` (leaving
        no file when it cannot).

    Returns
    -------
    mapping : dict
        ``{name: (base_url, local_inventory_path)}`` for each project whose
        inventory was downloaded now or by an earlier build; a project whose
        inventory cannot be had is left out, so its references render as
        plain code instead of failing the build.
    """
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: cache_dir / f"{name}-objects.inv" for name in projects}
    # Daemon threads with one deadline: a name lookup that hangs (which the
    # socket timeout does not cover) cannot hold up the build or its exit.
    threads = [threading.Thread(target=fetch, daemon=True,
                                args=(base + "objects.inv", paths[name], timeout))
               for name, base in projects.items()]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout + 1.0
    for thread in threads:
        thread.join(max(deadline - time.monotonic(), 0.0))
    return {
        name: (base, str(paths[name])) for name, base in projects.items()
        if paths[name].is_file() and _readable_inventory(paths[name])
    }


def setup(app):
    """Register the MathML renderer.

    Parameters
    ----------
    app : sphinx.application.Sphinx
        The application.

    Returns
    -------
    metadata : dict
        The extension's metadata.
    """
    app.add_html_math_renderer(
        "mathml",
        inline_renderers=(_visit_math, None),
        block_renderers=(_visit_displaymath, None),
    )
    return {"parallel_read_safe": True, "parallel_write_safe": True}
