"""The kiosk and admin pages in a real headless Chromium against a running `facegate serve` and a real database, the
camera fed with real photos: staff register a member from uploaded photos and the camera, the kiosk welcomes that
member by name from another photo, turns away a stranger, asks a face-less scene to step closer, and signing out
forgets the tokens. Each state is saved as a screenshot at 768×1024 (tablet, portrait) and 1366×768 (laptop) under
the test output, and must fit across the screen.

The tests of this module run in order and share one organisation (staff accounts, the member, the kiosk account).
"""

import json
import os
import time

import pytest

import browser
from conftest import requires_faces
from facegate_service import PASSWORD, faces_root

pytestmark = [pytest.mark.skipif(browser.missing() is not None, reason=browser.missing() or ""), requires_faces]

TABLET, LAPTOP = (768, 1024), (1366, 768)
KIOSK_USERNAME = "front-door-kiosk"


def face(relative):
    return os.path.join(faces_root(), relative)


@pytest.fixture(scope="module")
def gym(service):
    """An organisation with an admin and an operator (made through the API); the rest is made through the pages."""
    org, tokens = service.organization("Pages Gym", roles=("admin", "operator"))
    return {"service": service, "org": org, "tokens": tokens, "admin": "pages-gym-admin",
            "operator": "pages-gym-operator", "url": f"http://127.0.0.1:{service.port}"}


@pytest.fixture(scope="module")
def admin_page(gym):
    """The admin page signed in as the organisation's admin, its camera showing another photo of the member."""
    camera = browser.camera_video(face("face_recognition/obama/obama1.jpg"))
    with browser.Browser(gym["url"], camera=camera, size=LAPTOP) as page:
        page.open("/admin")
        sign_in(page, gym["admin"])
        page.wait_for("#members-title")
        yield page


def sign_in(page, username, password=PASSWORD):
    """Signs in with the keyboard alone: username, Tab, password, Enter."""
    from selenium.webdriver.common.keys import Keys
    field = page.wait_for("#username")
    field.clear()
    field.send_keys(username)
    field.send_keys(Keys.TAB)
    page.driver.switch_to.active_element.send_keys(password, Keys.ENTER)


def fits(page, name, sizes=(TABLET, LAPTOP)):
    """Screenshots of the page at each size; asserts that nothing sticks out sideways at any of them and that all
    text is readable against its background."""
    for size in sizes:
        page.resize(*size)
        time.sleep(0.3)  # one layout and paint
        page.screenshot(name)
        assert page.overflow() == [0, 0], f"{name} overflows at {size}: {page.overflow()}"
    assert page.low_contrast() == [], name


def unlabelled_fields(page):
    """Inputs, selects and buttons a screen reader could not name."""
    return page.run("""
        return [...document.querySelectorAll('input, select, button, video')]
          .filter((n) => n.offsetParent !== null)
          .filter((n) => !(n.labels && n.labels.length) && !n.getAttribute('aria-label') && !n.textContent.trim())
          .map((n) => n.outerHTML.slice(0, 80));""")


def results(page):
    """The registration results on the member view: [(text, status, code)]."""
    return [(item.text, item.get_attribute("data-status"), item.get_attribute("data-code"))
            for item in page.find_all("ul.results li")]


def kiosk_outcome(page, states, timeout=60):
    """Waits for the kiosk's outcome to reach one of `states`; returns (state, text, latency in ms)."""
    page.wait(lambda driver: page.find("#outcome").get_attribute("data-state") in states, timeout,
              f"the kiosk never showed {states}; it shows {page.find('#outcome').text!r}")
    outcome = page.find("#outcome")
    return outcome.get_attribute("data-state"), outcome.text, outcome.get_attribute("data-latency-ms")


def open_kiosk(url, photo, username=KIOSK_USERNAME, size=TABLET):
    """A browser on the kiosk page of the service at `url`, its camera showing `photo`, signed in as `username`."""
    page = browser.Browser(url, camera=browser.camera_video(face(photo)), size=size)
    page.open("/kiosk")
    sign_in(page, username)
    return page


def stored_tokens(page, key):
    """The session a page keeps in sessionStorage under `key` (None when signed out)."""
    return json.loads(page.run("return sessionStorage.getItem(arguments[0])", key) or "null")


# MARK: - Admin page


def test_admin_page_signs_in_and_lists_members(gym, admin_page):
    page = admin_page
    assert "pages-gym-admin (admin)" in page.find("#who").text
    assert page.find("#nav-users").is_displayed()
    assert unlabelled_fields(page) == []
    fits(page, "admin-members-empty")
    assert page.script_errors() == []


def test_admin_registers_a_member_from_files_and_the_camera(gym, admin_page):
    page = admin_page
    page.resize(*LAPTOP)
    page.open("/admin#members")
    page.wait_for("#members-title")
    next(b for b in page.find_all("button") if b.text == "New member").click()
    page.wait_for("#name-new").send_keys("Barack Obama")
    page.find("#external-new").send_keys("M-0044")
    page.find("#email-new").send_keys("barack@example.org")
    next(b for b in page.find_all("button") if b.text == "Create member").click()
    page.wait(lambda d: page.find_all("#member-title") and page.find("#member-title").text == "Barack Obama", 20,
              "the new member's page did not open")
    member_id = page.run("return location.hash.split('/')[1]")
    gym["member"] = member_id

    # Three files at once: a portrait, a landscape without anyone, and a text file named .png.
    page.find("#photos").send_keys("\n".join([face("face_recognition/obama/obama.jpg"),
                                              face("compreface/noface/landscape.jpg"),
                                              face("compreface/invalid/empty.png")]))
    page.wait(lambda d: len(results(page)) == 3 and all(status != "pending" for _, status, _ in results(page)), 60,
              f"registration results: {results(page)}")
    answers = {text.split(":")[0]: (status, code, text) for text, status, code in results(page)}
    assert answers["obama.jpg"][:2] == ("ok", None), answers
    assert answers["landscape.jpg"][:2] == ("refused", "no_face"), answers
    assert "No face found" in answers["landscape.jpg"][2]
    assert answers["empty.png"][:2] == ("refused", "unsupported_image_format"), answers
    assert "Not a photo this service reads" in answers["empty.png"][2]
    fits(page, "admin-member-registered")

    # The camera (fed with another photo of him): open it, take a photo.
    next(b for b in page.find_all("button") if b.text == "Use the camera").click()
    page.wait(lambda d: page.run("const v = document.querySelector('.capture-box video'); "
                                 "return v && v.readyState >= 2 && v.videoWidth > 0"), 20, "the camera did not start")
    fits(page, "admin-member-camera")
    next(b for b in page.find_all("button") if b.text == "Take photo").click()
    page.wait(lambda d: len(results(page)) == 4 and results(page)[0][1] != "pending", 60, "the camera photo")
    assert results(page)[0][1] == "ok", results(page)

    # Both faces listed, each thumbnail decrypted and fetched with the token.
    page.wait(lambda d: len(page.find_all("ul.faces li")) == 2, 20, "two faces listed")
    page.wait(lambda d: page.run("return [...document.querySelectorAll('ul.faces img')]"
                                 ".every((img) => img.complete && img.naturalWidth === 112)"), 20, "thumbnails")  # SFace's chip
    faces = gym["service"].api("GET", f"/members/{member_id}/faces", token=gym["tokens"]["admin"]).json()["faces"]
    assert len(faces) == 2
    assert unlabelled_fields(page) == []
    fits(page, "admin-member-faces")
    assert page.script_errors() == []


def test_admin_searches_members(gym, admin_page):
    page = admin_page
    gym["service"].member(gym["tokens"]["admin"], "Joe Bloggs", external_id="M-0045")
    page.open("/admin#members")
    search = page.wait_for("#search")
    search.send_keys("obama")
    page.wait(lambda d: [r.text for r in page.find_all("tbody tr td:first-child")] == ["Barack Obama"], 20,
              "the search did not narrow the list to Barack Obama")
    assert page.find("tbody tr td.number").text == "2"  # faces
    fits(page, "admin-members-search")


def test_admin_creates_the_kiosk_account(gym, admin_page):
    from selenium.webdriver.support.ui import Select
    page = admin_page
    page.open("/admin#users")
    page.wait_for("#new-username").send_keys(KIOSK_USERNAME)
    page.find("#new-password").send_keys(PASSWORD)
    Select(page.find("#new-role")).select_by_value("kiosk")
    next(b for b in page.find_all("button") if b.text == "Create account").click()
    page.wait(lambda d: any(KIOSK_USERNAME in row.text for row in page.find_all("tbody tr")), 20, "the new account")
    users = gym["service"].api("GET", "/users", token=gym["tokens"]["admin"]).json()["users"]
    assert {u["username"]: u["role"] for u in users}[KIOSK_USERNAME] == "kiosk"
    assert unlabelled_fields(page) == []
    fits(page, "admin-users")


# MARK: - Kiosk page


def test_kiosk_welcomes_the_member_by_name(gym):
    with open_kiosk(gym["url"], "face_recognition/obama/obama2.jpg") as page:
        page.wait_for("#video")
        state, text, latency = kiosk_outcome(page, {"welcome", "not-recognised", "hint", "error", "busy",
                                                    "unavailable"})
        print(f"kiosk welcome: {text!r} {latency} ms from capture to answer on screen")
        assert state == "welcome", text
        assert "Welcome, Barack Obama!" in text
        fits(page, "kiosk-welcome")
        # Only the member's name: no member number, no email, no list.
        body = page.run("return document.body.innerText")
        assert "M-0044" not in body and "barack@example.org" not in body and "Joe Bloggs" not in body
        # The kiosk is ready again by itself.
        kiosk_outcome(page, {"ready"}, timeout=15)
        fits(page, "kiosk-ready")
        assert page.script_errors() == []
    checkins = gym["service"].api("GET", f"/checkins?member_id={gym['member']}", token=gym["tokens"]["admin"])
    assert len(checkins.json()["checkins"]) == 1


def test_admin_sees_the_check_in(gym, admin_page):
    page = admin_page
    page.open("/admin#checkins")
    page.wait(lambda d: any("Barack Obama" in row.text for row in page.find_all("tbody tr")), 20, "the check-in row")
    assert unlabelled_fields(page) == []
    fits(page, "admin-checkins")


def keep_saved_files(page):
    """Keeps every blob the page makes a URL for (the files it saves, the thumbnails it shows) readable by the test."""
    page.run("""
        if (!window.savedFiles) {
          window.savedFiles = [];
          const make = URL.createObjectURL;
          URL.createObjectURL = (blob) => { window.savedFiles.push(blob); return make.call(URL, blob); };
        }""")


def saved_files(page, kind):
    """The texts of the blobs of type `kind` (a prefix: text/csv, application/json) the page has made so far."""
    return page.driver.execute_async_script("""
        const [kind, done] = [arguments[0], arguments[arguments.length - 1]];
        Promise.all((window.savedFiles || []).filter((b) => b.type.startsWith(kind)).map((b) => b.text())).then(done);""",
        kind)


def test_admin_exports_the_check_ins_and_a_members_data(gym, admin_page):
    page = admin_page
    page.open("/admin#checkins")
    page.wait(lambda d: any("Barack Obama" in row.text for row in page.find_all("tbody tr")), 20, "the check-in row")
    keep_saved_files(page)
    next(b for b in page.find_all("button") if b.text == "Export check-ins (CSV)").click()
    page.wait(lambda d: len(saved_files(page, "text/csv")) == 1, 30, "the check-ins file")
    lines = saved_files(page, "text/csv")[0].strip().split("\n")
    assert lines[0] == "checked_in_at,member_id,external_id,name,distance,method", lines
    assert len(lines) == 2 and f",{gym['member']},M-0044,Barack Obama," in lines[1], lines
    assert unlabelled_fields(page) == []
    fits(page, "admin-checkins-exported")

    page.open(f"/admin#members/{gym['member']}")
    page.wait(lambda d: page.find_all("#member-title") and page.find("#member-title").text == "Barack Obama", 20,
              "the member's page")
    keep_saved_files(page)
    next(b for b in page.find_all("button") if b.text == "Export this member's data").click()
    page.wait(lambda d: len(saved_files(page, "application/json")) == 1, 30, "the member's file")
    data = json.loads(saved_files(page, "application/json")[0])
    assert data["member"]["id"] == gym["member"] and data["member"]["external_id"] == "M-0044"
    assert len(data["checkins"]) == 1 and len(data["faces"]) == 2
    assert not any("embedding" in face or "template" in face for face in data["faces"])
    assert data["audit_log"][-1]["action"] == "member_exported"
    fits(page, "admin-member-exported")
    assert page.script_errors() == []


def test_kiosk_turns_away_a_stranger(gym):
    with open_kiosk(gym["url"], "face_recognition/biden/biden.jpg") as page:
        state, text, latency = kiosk_outcome(page, {"welcome", "not-recognised", "hint", "error"})
        print(f"kiosk stranger: {text!r} {latency} ms")
        assert state == "not-recognised", text
        assert "Not recognised" in text and "front desk" in text
        fits(page, "kiosk-not-recognised")


def test_kiosk_greets_a_member_whose_membership_is_paused_and_sends_them_to_the_desk(gym):
    service, admin = gym["service"], gym["tokens"]["admin"]
    assert service.api("PATCH", f"/members/{gym['member']}", {"status": "paused"}, admin).status == 200
    try:
        with open_kiosk(gym["url"], "face_recognition/obama/obama2.jpg") as page:
            state, text, _ = kiosk_outcome(page, {"welcome", "not-recognised", "inactive", "hint", "error"})
            assert state == "inactive", text
            assert "Hello, Barack Obama" in text and "membership is paused" in text and "front desk" in text, text
            fits(page, "kiosk-membership-paused")
            assert page.script_errors() == []
    finally:
        assert service.api("PATCH", f"/members/{gym['member']}", {"status": "active"}, admin).status == 200
    checkins = service.api("GET", f"/checkins?member_id={gym['member']}", token=admin).json()["checkins"]
    assert len(checkins) == 1  # the welcome's, nothing for the paused visit


def press(page, digits):
    """Types `digits` on the kiosk's pad with its own keys."""
    for digit in digits:
        page.find(f"#keys button[data-key='{digit}']").click()


@pytest.fixture(scope="module")
def band_gym(services):
    """A service whose 1:N rule is so strict (FPIR 1e-6) that a member's harder photo (two LFW photos of Anwar
    Ibrahim, cosine distance 0.54 with SFace) is not matched by face alone but lies in the PIN band; the member has
    PIN 2468 and member number A-17."""
    service = services.start(env={"FACE_MATCH_TARGET_FPIR": "0.000001"})
    org, tokens = service.organization("Band Gym", roles=("admin", "kiosk"))
    member = service.member(tokens["admin"], "Anwar Ibrahim", external_id="A-17", pin="2468")
    assert service.enrol(tokens["admin"], member, open(face("lfw/images/Anwar_Ibrahim/Anwar_Ibrahim_0001.jpg"), "rb")
                         .read()).status == 201
    return {"service": service, "url": f"http://127.0.0.1:{service.port}", "member": member, "tokens": tokens}


def test_kiosk_asks_a_face_it_is_not_sure_of_for_the_pin(band_gym):
    with open_kiosk(band_gym["url"], "lfw/images/Anwar_Ibrahim/Anwar_Ibrahim_0002.jpg", "band-gym-kiosk") as page:
        state, text, _ = kiosk_outcome(page, {"welcome", "not-recognised", "pin", "hint", "error"})
        assert state == "pin" and "Enter your PIN" in page.find("#pad").text, text
        assert "Anwar" not in page.run("return document.body.innerText")  # nobody named before the PIN
        assert page.find("#pad-entry").get_attribute("type") == "password"  # digits not shown
        assert unlabelled_fields(page) == []
        fits(page, "kiosk-pin-pad")
        press(page, "1357")
        page.find("#pad-ok").click()
        page.wait(lambda d: "2 tries left" in page.find("#pad-note").text, 20, "the wrong PIN's note")
        fits(page, "kiosk-pin-wrong")
        press(page, "2468")
        page.find("#pad-ok").click()
        state, text, _ = kiosk_outcome(page, {"welcome", "not-recognised", "error"})
        assert state == "welcome" and "Welcome, Anwar Ibrahim!" in text, text
        assert page.script_errors() == []
    checkins = band_gym["service"].api("GET", f"/checkins?member_id={band_gym['member']}",
                                       token=band_gym["tokens"]["admin"]).json()["checkins"]
    assert [c["method"] for c in checkins] == ["face_pin"]


def test_kiosk_checks_in_by_member_number_and_face(band_gym):
    with open_kiosk(band_gym["url"], "lfw/images/Anwar_Ibrahim/Anwar_Ibrahim_0002.jpg", "band-gym-kiosk") as page:
        kiosk_outcome(page, {"pin", "welcome", "not-recognised", "error"})
        page.find("#pad-cancel").click()
        kiosk_outcome(page, {"ready"}, timeout=15)
        page.find("#code").click()
        page.wait_for("#pad-entry").send_keys("A-17")
        assert page.find("#pad-entry").get_attribute("type") == "text"
        fits(page, "kiosk-member-number")
        page.find("#pad-ok").click()
        state, text, _ = kiosk_outcome(page, {"welcome", "not-recognised", "error"})
        assert state == "welcome" and "Welcome, Anwar Ibrahim!" in text, text
        page.find("#code").click()
        page.wait_for("#pad-entry").send_keys("A-18")
        page.find("#pad-ok").click()
        state, text, _ = kiosk_outcome(page, {"welcome", "not-recognised", "error"})
        assert state == "not-recognised" and "do not match" in text, text
        assert page.script_errors() == []
    checkins = band_gym["service"].api("GET", f"/checkins?member_id={band_gym['member']}",
                                       token=band_gym["tokens"]["admin"]).json()["checkins"]
    assert [c["method"] for c in checkins][:1] == ["code_face"]


def test_admin_sets_the_membership_and_pin_checks_in_by_hand_and_reads_the_attempts(gym, admin_page):
    from selenium.webdriver.support.ui import Select
    page, service, admin = admin_page, gym["service"], gym["tokens"]["admin"]
    page.resize(*LAPTOP)
    page.open(f"/admin#members/{gym['member']}")
    page.wait(lambda d: page.find_all("#member-title") and page.find("#member-title").text == "Barack Obama", 20,
              "the member's page")
    member_id = gym["member"]
    assert page.find(".pin-state p").get_attribute("data-pin") == "none"
    Select(page.find(f"#status-{member_id}")).select_by_value("paused")
    page.run("arguments[0].value = '2031-12-31'", page.find(f"#valid-until-{member_id}"))
    page.find(f"#pin-{member_id}").send_keys("4321")
    next(b for b in page.find_all("button") if b.text == "Save").click()
    page.wait(lambda d: page.find(".pin-state p").get_attribute("data-pin") == "set", 20, "the PIN saved")
    member = service.api("GET", f"/members/{member_id}", token=admin).json()
    assert (member["status"], member["valid_until"], member["has_pin"]) == ("paused", "2031-12-31", True), member
    assert page.find(f"#pin-{member_id}").get_attribute("value") == ""  # never shown again
    fits(page, "admin-member-membership")

    # By hand: a paused membership is still refused, with the reason in words; active again, it is recorded.
    page.find("#manual-reason").send_keys("forgot his card, ID checked")
    next(b for b in page.find_all("button") if b.text == "Check in by hand").click()
    page.wait(lambda d: "paused" in page.find("form.manual .message").text, 20, "the refusal")
    Select(page.find(f"#status-{member_id}")).select_by_value("active")
    page.run("arguments[0].value = ''", page.find(f"#valid-until-{member_id}"))
    next(b for b in page.find_all("button") if b.text == "Save").click()
    page.wait(lambda d: service.api("GET", f"/members/{member_id}", token=admin).json().get("valid_until") is None, 20,
              "the last day removed")
    page.find("#manual-reason").send_keys("forgot his card, ID checked")
    next(b for b in page.find_all("button") if b.text == "Check in by hand").click()
    page.wait(lambda d: "checked in" in page.find("form.manual .message").text, 20, "the check-in by hand")
    checkins = service.api("GET", f"/checkins?member_id={member_id}", token=admin).json()["checkins"]
    assert checkins[0]["method"] == "manual"

    # The attempts: the check-in by hand, the refusals, the kiosk's visits.
    page.open("/admin#attempts")
    page.wait(lambda d: len(page.find_all("tbody tr[data-outcome]")) >= 4, 20, "the attempts")
    outcomes = [row.get_attribute("data-outcome") for row in page.find_all("tbody tr[data-outcome]")]
    assert outcomes[:2] == ["checked_in", "membership_inactive"], outcomes
    assert {"no_match", "no_face"} <= set(outcomes) or "no_match" in outcomes, outcomes
    assert "By hand" in page.find("tbody tr").text
    Select(page.find("#outcome-filter")).select_by_value("membership_inactive")
    page.wait(lambda d: {row.get_attribute("data-outcome") for row in page.find_all("tbody tr[data-outcome]")}
              == {"membership_inactive"}, 20, "the filter")
    assert unlabelled_fields(page) == []
    fits(page, "admin-attempts")
    assert page.script_errors() == []


def test_admin_page_takes_only_an_id_from_the_address(gym, admin_page):
    """`#members/..\\users\\<id>` once made the page GET, PATCH and DELETE /api/v1/users/<id>."""
    page = admin_page
    users = gym["service"].api("GET", "/users", token=gym["tokens"]["admin"]).json()["users"]
    page.open(f"/admin#members/..\\users\\{users[0]['id']}")
    page.wait(lambda d: page.find("#view h1").text == "No such member", 20, "the refusal")
    assert not page.find_all("#member-title") and not [b for b in page.find_all("button") if b.text in ("Save", "Erase member")]
    assert gym["service"].api("GET", f"/users/{users[0]['id']}", token=gym["tokens"]["admin"]).status == 200


def test_kiosk_asks_to_step_closer_when_it_sees_no_face(gym):
    with open_kiosk(gym["url"], "compreface/noface/landscape.jpg", size=LAPTOP) as page:
        state, text, _ = kiosk_outcome(page, {"welcome", "not-recognised", "hint", "error"})
        assert state == "hint", text
        assert "No face found" in text and "Step closer" in text
        fits(page, "kiosk-no-face")
        # The same empty scene is not sent again and again.
        kiosk_outcome(page, {"ready"}, timeout=15)
        time.sleep(3)
        assert page.find("#outcome").get_attribute("data-state") == "ready"


def test_kiosk_waits_out_a_rate_limit_and_sends_again(services):
    """A kiosk account allowed 2 requests at once and 6 a minute: signing in and the first check-in use both, the
    next (a tap) is refused 429 and the kiosk counts down its Retry-After, then sends the same photo again."""
    service = services.start(env={"RATE_LIMIT_PER_MINUTE": 6, "RATE_LIMIT_BURST": 2})
    # Set up from another loopback address, so that the browser's address keeps its own bucket for the login.
    setup = "127.0.0.2"
    root = service.login(source=setup)["access_token"]
    org = service.api("POST", "/organizations", {"name": "Limited Gym"}, root, source=setup).json()["id"]
    response = service.api("POST", "/users", {"username": "limited-kiosk", "password": PASSWORD, "role": "kiosk",
                                              "organization_id": org}, root, source=setup)
    assert response.status == 201, response.body
    url = f"http://127.0.0.1:{service.port}"
    with open_kiosk(url, "face_recognition/obama/obama2.jpg", "limited-kiosk") as page:
        state, text, _ = kiosk_outcome(page, {"welcome", "not-recognised", "hint", "error", "busy"})
        assert state == "not-recognised", text  # nobody is enrolled here
        kiosk_outcome(page, {"ready"}, timeout=15)
        page.find("#capture").click()
        state, text, _ = kiosk_outcome(page, {"busy", "not-recognised", "error"}, timeout=15)
        assert state == "busy" and "Busy right now" in text and "Trying again in" in text, text
        fits(page, "kiosk-rate-limited", sizes=(TABLET,))
        state, text, _ = kiosk_outcome(page, {"not-recognised", "error", "welcome"}, timeout=40)
        assert state == "not-recognised", text


def test_kiosk_renews_its_tokens_before_they_expire(services):
    """With one-minute access tokens the kiosk exchanges its pair by itself before the access token expires (a
    fifth of the lifetime ahead) and stays signed in; the pair it gave up no longer works."""
    # No grace for a lost refresh answer: the given-up pair must be refused at once (AuthTests covers the grace).
    service = services.start(env={"ACCESS_TOKEN_EXPIRE_MINUTES": 1, "REFRESH_REUSE_GRACE_SECONDS": 0})
    org, _ = service.organization("Renewing Gym", roles=("kiosk",))
    url = f"http://127.0.0.1:{service.port}"
    with open_kiosk(url, "compreface/noface/landscape.jpg", "renewing-gym-kiosk") as page:
        page.wait_for("#station")
        first = stored_tokens(page, "facegate.kiosk")

        def new_pair(_):
            now = stored_tokens(page, "facegate.kiosk")
            return now if now and now["access"] != first["access"] else None

        renewed = page.wait(new_pair, 75, "the kiosk did not renew its tokens")
        assert renewed["refresh"] != first["refresh"]
        assert page.find("#station").is_displayed()
        assert service.api("GET", "/auth/me", token=renewed["access"]).status == 200
        # Last, since presenting a used refresh token ends the session (it must have been stolen).
        assert service.api("POST", "/auth/refresh", {"refresh_token": first["refresh"]}).status == 401


def test_kiosk_refuses_staff_accounts(gym):
    with browser.Browser(gym["url"], size=TABLET) as page:
        page.open("/kiosk")
        fits(page, "kiosk-sign-in")
        sign_in(page, gym["admin"])
        message = page.wait(lambda d: page.find("#signin-form .message").text, 20, "no refusal shown")
        assert "for kiosk accounts" in message
        assert page.run("return sessionStorage.length") == 0  # the admin's tokens are not kept
        assert not page.find("#station").is_displayed()


def test_signing_out_forgets_the_tokens_and_ends_the_session(gym):
    service = gym["service"]
    with open_kiosk(gym["url"], "compreface/noface/landscape.jpg") as page:
        page.wait_for("#station")
        stored = stored_tokens(page, "facegate.kiosk")
        assert service.api("GET", "/auth/me", token=stored["access"]).status == 200
        page.find("#signout").click()
        page.wait(lambda d: d.switch_to.alert, 10, "no confirmation asked").accept()
        page.wait_for("#signin")
        assert page.run("return sessionStorage.length") == 0
        assert service.api("GET", "/auth/me", token=stored["access"]).status == 401
        # Reloading shows the sign-in form, not the kiosk.
        page.open("/kiosk")
        page.wait_for("#signin")
        assert not page.find("#station").is_displayed()


def test_operator_sees_no_account_management(gym):
    with browser.Browser(gym["url"], size=TABLET) as page:
        page.open("/admin")
        sign_in(page, gym["operator"])
        page.wait_for("#members-title")
        assert not page.find("#nav-users").is_displayed()
        page.open("/admin#users")
        page.wait(lambda d: "Only admins manage accounts" in page.find("#view").text, 10, "no refusal")


def test_admin_erases_the_member_after_confirming(gym, admin_page):
    page = admin_page
    page.open(f"/admin#members/{gym['member']}")
    page.wait(lambda d: page.find_all("#member-title") and page.find("#member-title").text == "Barack Obama", 20,
              "member page")
    next(b for b in page.find_all("button") if b.text.startswith("Erase member")).click()
    page.wait_for("#confirm")
    fits(page, "admin-erase-confirm")
    page.find("#confirm-yes").click()
    page.wait_for("#members-title")
    assert gym["service"].api("GET", f"/members/{gym['member']}", token=gym["tokens"]["admin"]).status == 404
    # Sign out: tokens forgotten, session ended at the server.
    stored = stored_tokens(page, "facegate.admin")
    page.find("#signout").click()
    page.wait_for("#signin")
    assert page.run("return sessionStorage.length") == 0
    assert gym["service"].api("GET", "/auth/me", token=stored["access"]).status == 401
