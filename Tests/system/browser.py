"""A real headless Chromium (Debian's `chromium` and `chromium-driver`, driven by Selenium) for the page tests, its
camera fed with a real photo: Chromium's fake capture device plays a Y4M video that ffmpeg makes from the photo.

`Browser(base_url, camera=camera_video(photo), size=(w, h))` starts one Chromium (the camera file is fixed for the
life of the process); `screenshot` saves a full-page PNG under the test output; `overflow`, `low_contrast` and
`script_errors` tell what a person would see wrong.
"""

import hashlib
import os
import shutil
import subprocess

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
FFMPEG = shutil.which("ffmpeg")


def missing():
    """Why the browser tests cannot run here (None when they can)."""
    absent = [name for name, path in (("chromium", CHROMIUM), ("chromium-driver", CHROMEDRIVER), ("ffmpeg", FFMPEG))
              if not path]
    if absent:
        return f"{', '.join(absent)} not installed (scripts/setup browser installs them); browser tests skipped"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (scripts/test installs it); browser tests skipped"
    return None


def output_folder(*parts):
    folder = os.path.join(os.environ.get("FACEGATE_SYSTEM_OUTPUT", "/tmp"), *parts)
    os.makedirs(folder, exist_ok=True)
    return folder


def camera_video(photo_path):
    """A one-second Y4M video (10 frames of the still photo, at most 1280×720, even sides) for the fake camera, made
    once per photo."""
    digest = hashlib.sha1(os.path.abspath(photo_path).encode()).hexdigest()[:8]
    target = os.path.join(output_folder("camera"), f"{os.path.splitext(os.path.basename(photo_path))[0]}-{digest}.y4m")
    if os.path.exists(target):
        return target
    scale = ("scale='min(1280,iw)':'min(720,ih)':force_original_aspect_ratio=decrease,"
             "scale=trunc(iw/2)*2:trunc(ih/2)*2,format=yuv420p")
    subprocess.run([FFMPEG, "-loglevel", "error", "-y", "-loop", "1", "-i", photo_path, "-vf", scale, "-r", "10",
                    "-frames:v", "10", "-f", "yuv4mpegpipe", target], check=True)
    return target


class Browser:
    """One headless Chromium whose camera shows `camera` (a Y4M file), with a viewport of `size` (width, height)."""

    def __init__(self, base_url, camera=None, size=(1366, 768)):
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service as DriverService

        options = Options()
        options.binary_location = CHROMIUM
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                         "--no-first-run", "--disable-extensions", "--lang=en-GB"):
            options.add_argument(argument)
        if camera:
            options.add_argument(f"--use-file-for-fake-video-capture={camera}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium look for a driver on the network
        self.driver = webdriver.Chrome(options=options, service=DriverService(executable_path=CHROMEDRIVER))
        self.driver.set_page_load_timeout(30)
        self.base_url = base_url
        self.resize(*size)

    def resize(self, width, height):
        """Sets the page's viewport exactly (as a tablet or laptop screen of that size would have it)."""
        self.size = (width, height)
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def open(self, path):
        self.driver.get(self.base_url + path)

    def find(self, css):
        from selenium.webdriver.common.by import By
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css):
        from selenium.webdriver.common.by import By
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def wait(self, condition, timeout=30, message=""):
        """Waits until `condition(driver)` is truthy; returns its value. An element the page replaced while the
        condition read it (a list re-rendered by its answer) makes the condition be asked again, not fail."""
        from selenium.common.exceptions import StaleElementReferenceException
        from selenium.webdriver.support.ui import WebDriverWait
        return WebDriverWait(self.driver, timeout, poll_frequency=0.1,
                             ignored_exceptions=(StaleElementReferenceException,)).until(condition, message)

    def wait_for(self, css, timeout=30):
        """The first element matching `css` once it is displayed."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as shown
        return self.wait(shown.visibility_of_element_located((By.CSS_SELECTOR, css)), timeout, f"{css} not shown")

    def run(self, script, *arguments):
        return self.driver.execute_script(script, *arguments)

    def overflow(self):
        """How far the page is wider than the viewport, and how far any visible element sticks out to the right or
        left of it (px; 0 and 0 when everything fits across)."""
        return self.run("""
            const width = document.documentElement.clientWidth;
            let worst = 0;
            for (const node of document.querySelectorAll('body *')) {
              const box = node.getBoundingClientRect();
              if (!box.width || !box.height || getComputedStyle(node).visibility === 'hidden') continue;
              if (node.closest('.table-wrap, .visually-hidden')) continue;  // tables scroll inside their own box
              worst = Math.max(worst, box.right - width, -box.left);
            }
            return [document.documentElement.scrollWidth - width, Math.round(worst)];""")

    def low_contrast(self):
        """Visible text whose colour is too close to its background: below 4.5:1, or 3:1 for large text (WCAG AA).
        The background is the nearest opaque one behind the text; disabled controls are exempt, as WCAG has them."""
        return self.run("""
            const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
            const luminance = ([r, g, b]) => [r, g, b].map((v) => {
              v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
            }).reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
            const background = (node) => {
              for (; node; node = node.parentElement) {
                const c = rgb(getComputedStyle(node).backgroundColor);
                if (c.length === 3 || c[3] === 1) return c.slice(0, 3);
              }
              return [255, 255, 255];
            };
            const found = [];
            for (const node of document.querySelectorAll('body *')) {
              const text = [...node.childNodes].filter((n) => n.nodeType === 3).map((n) => n.data).join('').trim();
              if (!text || !node.getClientRects().length || node.closest(':disabled, .visually-hidden')) continue;
              const style = getComputedStyle(node);
              if (style.visibility === 'hidden') continue;
              const [a, b] = [luminance(rgb(style.color)), luminance(background(node))].sort((x, y) => y - x);
              const ratio = (a + 0.05) / (b + 0.05);
              const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
              const large = size >= 24 || (bold && size >= 18.66);
              if (ratio < (large ? 3 : 4.5)) found.push(`${text.slice(0, 40)}: ${ratio.toFixed(2)}`);
            }
            return found;""")

    def screenshot(self, name):
        """Saves the whole page (the viewport's width, every part a person could scroll to) as
        screenshots/NAME-WxH.png; returns the path."""
        import base64
        path = os.path.join(output_folder("screenshots"), f"{name}-{self.size[0]}x{self.size[1]}.png")
        content = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": self.size[0], "height": max(self.size[1], content["height"]), "scale": 1}})
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        return path

    def script_errors(self):
        """The page's script errors and policy violations so far (an API answer of 4xx, which the browser also logs
        as an error, is not one)."""
        return [entry["message"] for entry in self.driver.get_log("browser")
                if entry["level"] == "SEVERE" and "Failed to load resource" not in entry["message"]]

    def close(self):
        self.driver.quit()

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()
