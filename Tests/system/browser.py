"""A real headless Chromium (Debian's `chromium` and `chromium-driver`, driven by Selenium) for the page tests, its
camera fed with a real photo or clip: Chromium's fake capture device plays a Y4M video that ffmpeg makes from it,
looped from the moment the page opens the camera.

`Browser(base_url, camera=camera_video(photo), size=(w, h))` starts one Chromium (the camera file is fixed for the
life of the process); `screenshot` saves a full-page PNG under the test output; `overflow`, `low_contrast` and
`script_errors` tell what a person would see wrong; `before_load` runs a script in every page before its own.
`camera_head_turn` (a real clip: a still scene, the person, their turn) and `camera_turned_print` (a flat print of a
photo turned about its vertical axis) are cameras for the kiosk's head-turn challenge.
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


def video_frame(video_path, seconds):
    """The frame of `video_path` at `seconds` as a JPEG (made once); its path."""
    digest = hashlib.sha1(f"{os.path.abspath(video_path)}@{seconds}".encode()).hexdigest()[:8]
    target = os.path.join(output_folder("camera"),
                          f"{os.path.splitext(os.path.basename(video_path))[0]}-{seconds:g}s-{digest}.jpg")
    if not os.path.exists(target):
        subprocess.run([FFMPEG, "-loglevel", "error", "-y", "-ss", f"{seconds}", "-i", video_path, "-frames:v", "1",
                        "-q:v", "2", target], check=True)
    return target


# Each frame of a clip carries its number, in binary, as a row of black and white squares in its bottom left corner
# (STAMP_BITS squares of STAMP_SIZE px, least significant first): `stamps` reads them back from the frames a page sent.
STAMP_BITS, STAMP_SIZE = 9, 6


def stamp_filter():
    """The ffmpeg filters that write each frame's number (`n`, from 0) into its bottom left corner."""
    boxes = [f"drawbox=x=0:y=ih-{STAMP_SIZE}:w={STAMP_BITS * STAMP_SIZE}:h={STAMP_SIZE}:color=black:t=fill"]
    boxes += [f"drawbox=x={bit * STAMP_SIZE}:y=ih-{STAMP_SIZE}:w={STAMP_SIZE}:h={STAMP_SIZE}:color=white:t=fill:"
              f"enable='mod(floor(n/{2 ** bit}),2)'" for bit in range(STAMP_BITS)]
    return ",".join(boxes)


def stamps(jpeg_paths):
    """The frame numbers stamped in these pictures (as the camera gave them, unmirrored and not scaled); None for a
    picture without a readable stamp."""
    numbers = []
    for path in jpeg_paths:
        raw = subprocess.run([FFMPEG, "-loglevel", "error", "-i", path, "-vf",
                              f"crop={STAMP_BITS * STAMP_SIZE}:{STAMP_SIZE}:0:ih-{STAMP_SIZE},format=gray",
                              "-f", "rawvideo", "-"], check=True, stdout=subprocess.PIPE).stdout
        width = STAMP_BITS * STAMP_SIZE
        if len(raw) != width * STAMP_SIZE:
            numbers.append(None)
            continue
        number, readable = 0, True
        for bit in range(STAMP_BITS):
            # The middle of each square (JPEG blurs its edges).
            centre = [raw[y * width + x] for y in range(1, STAMP_SIZE - 1)
                      for x in range(bit * STAMP_SIZE + 1, (bit + 1) * STAMP_SIZE - 1)]
            level = sum(centre) / len(centre)
            readable = readable and (level < 70 or level > 185)
            number |= (level > 128) << bit
        numbers.append(number if readable else None)
    return numbers


# The camera's sway (px, s): a person standing still and a hand holding a print are never perfectly still, and the
# service takes two frames whose landmarks have not moved by a fraction of a pixel for one frame sent twice. Small and
# slow enough for the kiosk to count the picture as steady.
SWAY = (2, 1.7, 1.5, 2.3)


def camera_head_turn(video_path, start, end, lead_in=3.0, hold=1.4, turned_hold=2.0, fps=25):
    """A Y4M video for the fake camera from the real clip `video_path` (made once per set of arguments):
    `lead_in` seconds of a dark scene (nothing the kiosk sends), then the person still at the clip's frame at `start`
    for `hold` seconds, then the clip from `start` to `end` as it was filmed (their turn), then its last frame for
    `turned_hold` seconds, the whole picture swaying a little (`SWAY`), each frame stamped with its number (`stamps`
    reads it back; frame n is at n / fps s of the loop). The kiosk takes its picture about 0.6 s into
    the hold (steady after the dark scene moved), and after the challenge's arrow has shown for 0.8 s its frames span
    1.5 s: choose `start` and `hold` so that they begin just before the turn."""
    ax, px, ay, py = SWAY
    key = f"{os.path.abspath(video_path)} {start} {end} {lead_in} {hold} {turned_hold} {fps} {SWAY} {STAMP_BITS} {STAMP_SIZE}"
    target = os.path.join(output_folder("camera"), f"{os.path.splitext(os.path.basename(video_path))[0]}-turn-"
                          f"{hashlib.sha1(key.encode()).hexdigest()[:8]}.y4m")
    if os.path.exists(target):
        return target
    margin = 2 * max(ax, ay) + 2
    chain = (f"trim=start={start}:end={end},setpts=PTS-STARTPTS,fps={fps},"
             f"tpad=start_duration={hold}:start_mode=clone:stop_duration={turned_hold}:stop_mode=clone,"
             f"crop=w=iw-{2 * margin}:h=ih-{2 * margin}:x='{margin}+{ax}*sin(2*PI*t/{px})':"
             f"y='{margin}+{ay}*sin(2*PI*t/{py})',"
             "scale='min(1280,iw)':'min(720,ih)':force_original_aspect_ratio=decrease,"
             "scale=trunc(iw/2)*2:trunc(ih/2)*2,"
             f"tpad=start_duration={lead_in}:start_mode=add:color=black,{stamp_filter()},format=yuv420p")
    subprocess.run([FFMPEG, "-loglevel", "error", "-y", "-i", video_path, "-vf", chain, "-an", "-f", "yuv4mpegpipe",
                    target], check=True)
    return target


def camera_turned_print(photo_path, degrees=30, recedes="right", lead_in=3.0, hold=1.4, delay=0.2, turn=1.2,
                        turned_hold=3.0, size=(640, 480), background="0x8c9399", fps=25):
    """A Y4M video for the fake camera of a flat print of `photo_path` held up to it (made once per set of
    arguments): `lead_in` seconds of a dark scene, then the print (the photo with a white paper border, about half the
    picture's width, on a plain `background`) facing the camera for `hold` + `delay` seconds, then turned about its
    vertical axis by `degrees` over `turn` seconds (smoothly), held there for `turned_hold` seconds, seen by a pinhole
    camera 3.5 sheet widths away; hand-held throughout (`SWAY`); each frame stamped with its number. `recedes`: the edge that moves away from the camera,
    "right" (the image's right: a head turning so does to its own left) or "left"."""
    ax, px, ay, py = SWAY
    width, height = size
    sheet = 2 * round(width * 0.3)  # the photo's width on the sheet, px
    border = 14
    distance = 3.5 * (sheet + 2 * border)  # the camera's distance from the sheet, in the picture's pixels
    key = (f"{os.path.abspath(photo_path)} {degrees} {recedes} {lead_in} {hold} {delay} {turn} {turned_hold} "
           f"{size} {background} {fps} {SWAY} {sheet} {border} {distance} {STAMP_BITS} {STAMP_SIZE}")
    target = os.path.join(output_folder("camera"), f"{os.path.splitext(os.path.basename(photo_path))[0]}-print-"
                          f"{hashlib.sha1(key.encode()).hexdigest()[:8]}.y4m")
    if os.path.exists(target):
        return target
    seconds = hold + delay + turn + turned_hold
    sign = 1 if recedes == "right" else -1
    t = f"(in/{fps})"
    u = f"clip(({t}-{hold + delay})/{turn},0,1)"
    angle = f"({degrees}*PI/180*{u}*{u}*(3-2*{u}))"
    dx, dy = f"({ax}*sin(2*PI*{t}/{px}))", f"({ay}*sin(2*PI*{t}/{py}))"

    def corner(x, y):
        """Where the canvas point (x, y) from the sheet's centre lands: the sheet turns about its vertical axis, the
        receding edge moves away from the camera and shrinks, the other one comes closer and grows."""
        scale = f"({distance}/({distance}+{sign}*{x}*sin({angle})))"
        return (f"'{width / 2}+{dx}+{scale}*{x}*cos({angle})'", f"'{height / 2}+{dy}+{scale}*{y}'")

    corners = [corner(x, y) for x, y in ((-width / 2, -height / 2), (width / 2, -height / 2),
                                         (-width / 2, height / 2), (width / 2, height / 2))]
    warp = ":".join(f"x{i}={x}:y{i}={y}" for i, (x, y) in enumerate(corners))
    graph = (f"[1:v]scale={sheet}:-2,pad=iw+{2 * border}:ih+{2 * border}:{border}:{border}:color=white,format=rgba,"
             f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:color=black@0,"
             f"perspective={warp}:sense=destination:eval=frame[sheet];"
             f"[0:v][sheet]overlay=format=auto:shortest=1,"
             f"tpad=start_duration={lead_in}:start_mode=add:color=black,{stamp_filter()},format=yuv420p")
    subprocess.run([FFMPEG, "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"color=c={background}:s={width}x{height}:r={fps}:d={seconds}",
                    "-loop", "1", "-framerate", str(fps), "-t", f"{seconds}", "-i", photo_path,
                    "-filter_complex", graph, "-an", "-f", "yuv4mpegpipe", target], check=True)
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

    def before_load(self, script):
        """Runs `script` in every page this browser opens from now on, before the page's own scripts."""
        self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": script})

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
