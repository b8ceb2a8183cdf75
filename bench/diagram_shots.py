"""Screenshots of every plane of the shipped diagrams as bpmn-js draws them, fitted to a 1920x1080
window in headless Chromium, with the scale bpmn-js chose to fit each one.

    .venv/bin/python bench/diagram_shots.py [OUT_DIR]     # default tests/artifacts/diagrams

Prints one line per plane: file, plane, fitted scale, PNG path. Needs Debian's chromium and
chromedriver and the vendored viewer (`make assets`). Not a test: the PNGs are for looking at.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "api" / "console" / "static" / "vendor"
WIDTH, HEIGHT = 1920, 1080
PAGE = """<!doctype html><meta charset="utf-8">
<link rel="stylesheet" href="{vendor}/diagram-js.css"><link rel="stylesheet" href="{vendor}/bpmn-js.css">
<style>html,body,#c{{margin:0;width:100%;height:100%}}</style>
<div id="c"></div><script src="{vendor}/bpmn-navigated-viewer.js"></script>
<script>
window.viewer = new BpmnJS({{container: "#c"}});
window.planes = null;
viewer.importXML({xml}).then(function () {{
  window.planes = viewer.getDefinitions().diagrams.map(function (d) {{ return d.id; }});
}}).catch(function (e) {{ window.planes = "failed: " + e; }});
window.show = function (id) {{
  return viewer.open(id).then(function () {{
    var canvas = viewer.get("canvas");
    canvas.zoom("fit-viewport");
    return canvas.viewbox().scale;
  }});
}};
</script>"""


def _driver(profile: str) -> object:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage",
                 f"--user-data-dir={profile}", f"--window-size={WIDTH},{HEIGHT}", "--hide-scrollbars"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=shutil.which("chromedriver")))
    # the window's size includes the browser's frame; the page itself gets exactly the screen
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False})
    return driver


def _wait(driver: object, script: str) -> object:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        value = driver.execute_script(script)  # type: ignore[attr-defined]
        if value is not None:
            return value
        time.sleep(0.05)
    raise TimeoutError(script)


def shoot(bpmn: Path, out: Path, driver: object) -> list[tuple[str, float, Path]]:
    page = out / f"{bpmn.stem}.html"
    page.write_text(PAGE.format(vendor=VENDOR.as_uri(), xml=json.dumps(bpmn.read_text())))
    driver.get(page.as_uri())  # type: ignore[attr-defined]
    planes = _wait(driver, "return window.planes")
    assert isinstance(planes, list), planes
    shots = []
    for plane in planes:
        scale = driver.execute_async_script(  # type: ignore[attr-defined]
            "var done = arguments[1]; window.show(arguments[0]).then(done)", plane)
        png = out / f"{bpmn.stem}--{plane}.png"
        driver.save_screenshot(str(png))  # type: ignore[attr-defined]
        shots.append((plane, float(scale), png))
    page.unlink()
    return shots


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests" / "artifacts" / "diagrams"
    out.mkdir(parents=True, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="weibao-shots-")
    driver = _driver(profile)
    try:
        for bpmn in sorted((ROOT / "processes").glob("*.bpmn")):
            for plane, scale, png in shoot(bpmn, out, driver):
                print(f"{bpmn.name}\t{plane}\t{scale:.3f}\t{png}")
    finally:
        driver.quit()  # type: ignore[attr-defined]
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
