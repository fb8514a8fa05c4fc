"""The page of `vlkit serve` in headless Chromium over a real server and a tiny trained VQA run:
an uploaded world PNG gets the answer `vlkit predict` prints, the attention overlay picks the
region the model's attention map favours, a stored image is shown from the server's pixels and
answered like `--img-id`, unknown words are marked, a bad form shows the server's error.

An RE answer highlights the region `vlkit predict re` picks.

Needs Chromium and its driver (Debian: apt-get install chromium chromium-driver); skipped with
that hint when they are missing (VLKIT_REQUIRE_CHROMIUM=1 turns the skip into a failure).
VLKIT_SCREENSHOTS=DIR also writes the docs' screenshots (docs/serving.md) of better-trained
VQA and RE runs into DIR.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from vlkit.cli.main import main
from vlkit.data.stores.native_txt import NativeTextStore
from vlkit.data.synthetic.world import build_world

pytest.importorskip("fastapi", reason='vlkit serve needs: pip install -e ".[serve]"')
webdriver = pytest.importorskip("selenium.webdriver", reason="pip install selenium")

from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

CHROMIUM = os.environ.get("VLKIT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = (os.environ.get("VLKIT_CHROMEDRIVER") or shutil.which("chromedriver")
                or "/usr/bin/chromedriver")
if not (Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()):
    _missing = (f"headless Chromium not found ({CHROMIUM}, {CHROMEDRIVER}): apt-get install "
                "chromium chromium-driver (or set VLKIT_CHROMIUM and VLKIT_CHROMEDRIVER)")
    if os.environ.get("VLKIT_REQUIRE_CHROMIUM") == "1":
        pytest.fail(_missing, pytrace=False)
    pytest.skip(_missing, allow_module_level=True)

WAIT_S = 30  # every wait for the page is bounded by this
VIEWPORT = (1280, 900)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    """A world whose every image has its PNG (the page shows stored images from them)."""
    out = tmp_path_factory.mktemp("serve") / "world"
    build_world(out, num_images=40, seed=0, png=40)
    return out


def train_tiny(preset: str, world: Path, out: Path, tiny: list[str]) -> Path:
    overrides = [o for o in tiny if not o.startswith(("model.num_layers", "model.num_heads"))]
    # two layers and two heads, so that the layer and head pickers have a choice to make
    assert main(["train", preset, f"data.root={world}", f"out={out}",
                 "model.num_layers=2", "model.num_heads=2", *overrides]) == 0
    return out


@pytest.fixture(scope="module")
def vqa_run(world, tmp_path_factory, tiny) -> Path:
    return train_tiny("uniter-tiny-vqa", world, tmp_path_factory.mktemp("serve") / "vqa", tiny)


@pytest.fixture(scope="module")
def re_run(world, tmp_path_factory, tiny) -> Path:
    return train_tiny("uniter-tiny-re", world, tmp_path_factory.mktemp("serve") / "re", tiny)


@contextmanager
def serving(checkpoints: list[Path]) -> Iterator[str]:
    """`vlkit serve`'s app on 127.0.0.1 (a free port) in a thread; stopped on exit."""
    import uvicorn

    from vlkit.serve.app import create_app
    from vlkit.serve.models import load_models

    app = create_app(load_models([str(c) for c in checkpoints], device="cpu"))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + WAIT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start within {WAIT_S} s")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=WAIT_S)
        sock.close()
        assert not thread.is_alive(), "the server thread did not stop"


@pytest.fixture(scope="module")
def url(vqa_run, re_run) -> Iterator[str]:
    with serving([vqa_run, re_run]) as base:
        yield base


@contextmanager
def chromium() -> Iterator:
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,900"):
        options.add_argument(arg)
    options.binary_location = CHROMIUM
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        driver.set_page_load_timeout(WAIT_S)
        driver.set_script_timeout(WAIT_S)
        width, height = VIEWPORT
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with chromium() as driver:
        yield driver


def open_page(driver, url: str, model: str | None = None) -> None:
    driver.get(url + "/")
    WebDriverWait(driver, WAIT_S).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#model option"))
    if model is not None:
        Select(driver.find_element(By.ID, "model")).select_by_value(model)


def ask(driver, text: str | None) -> None:
    """Types `text` (None: leaves the field alone), presses Ask, waits for answers or an error."""
    if text is not None:
        field = driver.find_element(By.ID, "text")
        field.clear()
        field.send_keys(text)
    driver.find_element(By.ID, "ask").click()
    WebDriverWait(driver, WAIT_S).until(lambda d: (
        d.find_element(By.ID, "error").is_displayed()
        or d.find_elements(By.CSS_SELECTOR, "#answers li .answer")
        or d.find_element(By.ID, "caption").is_displayed())
        and d.find_element(By.ID, "ask").is_enabled())


def shown_answers(driver) -> list[tuple[str, str]]:
    return [(li.find_element(By.CSS_SELECTOR, ".answer").text,
             li.find_element(By.CSS_SELECTOR, ".score").text)
            for li in driver.find_elements(By.CSS_SELECTOR, "#answers li")]


def chosen_region(driver) -> int:
    return int(driver.find_element(By.CSS_SELECTOR, "#regions tr.chosen td").text)


def predict(capsys, run: Path, *args: str, task: str = "vqa") -> dict:
    capsys.readouterr()
    assert main(["predict", task, "--checkpoint", str(run), *args]) == 0
    return json.loads(capsys.readouterr().out)


def val_question(world: Path) -> dict:
    txt = NativeTextStore(world / "txt" / "vqa_val")
    return txt.get(txt.ids()[0])


def argmax(values: list[float]) -> int:
    return max(range(len(values)), key=values.__getitem__)


def test_an_uploaded_png_gets_the_cli_answer_and_attention_picks_the_region(
        browser, url, vqa_run, world, capsys):
    rec = val_question(world)
    png = world / "pixels" / f"{rec['img_id']}.png"
    open_page(browser, url)
    browser.find_element(By.ID, "image-file").send_keys(str(png))
    assert browser.find_element(By.ID, "source-upload").is_selected()
    ask(browser, rec["text"])

    cli = predict(capsys, vqa_run, "--question", rec["text"], "--image", str(png),
                  "--attention")
    assert shown_answers(browser) == [(a["answer"], f"{a['score']:.3f}") for a in cli["answers"]]
    assert browser.find_element(By.ID, "error").is_displayed() is False
    assert [s.text for s in browser.find_elements(By.CSS_SELECTOR, "#tokens span")] == \
        cli["tokens"]
    regions = browser.find_elements(By.CSS_SELECTOR, "#regions tbody tr")
    assert len(regions) == len(cli["images"][0]["regions"])
    # the picture is drawn 4x (96 px -> 384 px) and the canvas lies over it
    size = browser.execute_script(
        "const i = document.getElementById('photo'), c = document.getElementById('canvas');"
        "return [i.naturalWidth, i.clientWidth, c.clientWidth, c.clientHeight];")
    assert size == [96, 384, 384, 384]

    layers = cli["attention"]  # [layer][head][region]
    mean_last = [sum(h[k] for h in layers[-1]) / len(layers[-1])
                 for k in range(len(layers[-1][0]))]
    assert chosen_region(browser) == argmax(mean_last)
    for layer, head in ((0, 1), (1, 0)):
        Select(browser.find_element(By.ID, "layer")).select_by_value(str(layer))
        Select(browser.find_element(By.ID, "head")).select_by_value(str(head))
        assert chosen_region(browser) == argmax(layers[layer][head])
        shown = [float(r.find_elements(By.TAG_NAME, "td")[2].text)
                 for r in browser.find_elements(By.CSS_SELECTOR, "#regions tbody tr")]
        assert shown == pytest.approx(layers[layer][head], abs=5e-4)


def test_a_stored_image_is_shown_and_answered_like_img_id(browser, url, vqa_run, world, capsys):
    open_page(browser, url)
    browser.find_element(By.ID, "source-upload").click()
    picker = Select(browser.find_element(By.ID, "img-id"))
    img_id = picker.options[2].get_attribute("value")  # one of the model's sample ids
    picker.select_by_value(img_id)
    assert browser.find_element(By.ID, "source-stored").is_selected()
    WebDriverWait(browser, WAIT_S).until(lambda d: d.execute_script(
        "return document.getElementById('photo').naturalWidth") == 96)
    assert browser.find_element(By.ID, "photo").get_attribute("src").endswith(
        f"/pixels/{img_id}")
    question = "how many xyzzy objects are there ?"
    ask(browser, question)

    cli = predict(capsys, vqa_run, "--question", question, "--img-id", img_id)
    assert shown_answers(browser) == [(a["answer"], f"{a['score']:.3f}") for a in cli["answers"]]
    assert browser.find_element(By.CSS_SELECTOR, "#tokens span.unk").text == "[UNK]"
    notice = browser.find_element(By.ID, "unknown-words")
    assert notice.is_displayed() and "xyzzy" in notice.text


def test_errors_show_the_servers_message_and_field(browser, url, world):
    rec = val_question(world)
    open_page(browser, url)
    browser.find_element(By.ID, "source-stored").click()
    ask(browser, "")
    error = browser.find_element(By.ID, "error")
    assert error.is_displayed()
    assert browser.find_element(By.ID, "error-field").text == "question"
    assert "is empty" in browser.find_element(By.ID, "error-message").text
    assert browser.find_element(By.ID, "text").get_attribute("aria-invalid") == "true"
    assert not browser.find_elements(By.CSS_SELECTOR, "#answers li .answer")

    browser.find_element(By.ID, "source-upload").click()  # upload chosen, no file given
    ask(browser, rec["text"])
    assert browser.find_element(By.ID, "error-field").text == "image"
    assert browser.find_element(By.ID, "image-file").get_attribute("aria-invalid") == "true"
    assert browser.find_element(By.ID, "text").get_attribute("aria-invalid") is None

    browser.find_element(By.ID, "source-stored").click()  # a good question clears the box
    ask(browser, rec["text"])
    assert not error.is_displayed()
    assert browser.find_elements(By.CSS_SELECTOR, "#answers li .answer")


def test_an_re_answer_highlights_the_predicted_region(browser, url, re_run, world, capsys):
    txt = NativeTextStore(world / "txt" / "refer_val")
    rec = txt.get(txt.ids()[0])
    png = world / "pixels" / f"{rec['img_id']}.png"
    open_page(browser, url, "re")
    assert browser.find_element(By.ID, "text-label").text == "Referring expression"
    browser.find_element(By.ID, "image-file").send_keys(str(png))
    ask(browser, rec["text"])

    cli = predict(capsys, re_run, "--expression", rec["text"], "--image", str(png), task="re")
    assert browser.find_element(By.ID, "verdict").text == f"Predicted region: {cli['region']}"
    assert chosen_region(browser) == cli["region"]
    assert shown_answers(browser)[0] == (f"region {cli['region']}",
                                         f"{cli['regions'][0]['prob']:.3f}")
    Select(browser.find_element(By.ID, "head")).select_by_value("1")  # attention moves,
    assert chosen_region(browser) == cli["region"]                     # the answer stays


SHOTS = os.environ.get("VLKIT_SCREENSHOTS", "")
SHOT_IMAGE = "synth-000003"  # eight objects, among the world's first 60 (those with PNGs)


def save_screenshot(driver, path: Path) -> None:
    """The viewport as a PNG; the page's flat colours keep it under the docs' 300 KB."""
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")
    assert image.size == VIEWPORT
    image.save(path, optimize=True)
    assert path.stat().st_size < 300_000, f"{path}: {path.stat().st_size} bytes"


@pytest.mark.slow
@pytest.mark.skipif(not SHOTS, reason="VLKIT_SCREENSHOTS=docs/img rewrites docs/img/serve_vqa.png "
                    "and serve_re.png (trains two runs for a few minutes)")
def test_docs_screenshots(tmp_path_factory):
    root = tmp_path_factory.mktemp("shots")
    world = root / "world"
    build_world(world, num_images=1000, seed=0, png=60)
    runs = {"vqa": ("uniter-tiny-vqa", 1500), "re": ("uniter-tiny-re", 600)}
    for task, (preset, steps) in runs.items():
        assert main(["train", preset, f"data.root={world}", f"out={root / task}",
                     f"train.total_steps={steps}", "train.progress=false",
                     "train.num_threads=1", "train.device=cpu"]) == 0
    out = Path(SHOTS)
    out.mkdir(parents=True, exist_ok=True)
    with serving([root / task for task in runs]) as url, chromium() as driver:
        open_page(driver, url, "vqa")
        driver.find_element(By.CSS_SELECTOR, f'#thumbs button[data-img-id="{SHOT_IMAGE}"]').click()
        ask(driver, "what color is the cross ?")
        assert shown_answers(driver)
        assert driver.find_elements(By.CSS_SELECTOR, "#regions tr.chosen")  # most attended
        save_screenshot(driver, out / "serve_vqa.png")

        open_page(driver, url, "re")
        driver.find_element(By.ID, "image-file").send_keys(str(world / "pixels" /
                                                                f"{SHOT_IMAGE}.png"))
        ask(driver, "the large white triangle")
        predicted = driver.find_element(By.ID, "verdict").text
        assert predicted == f"Predicted region: {chosen_region(driver)}"
        save_screenshot(driver, out / "serve_re.png")
