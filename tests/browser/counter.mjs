// Drives the counter page of a running `credgate serve --demo` (BASE_URL) in Debian's headless
// Chromium, as a clerk would: typing codes, choosing scenarios, searching by name, uploading a
// batch. Every step asserts what the page shows; the first failure ends the run with exit 1.
// Run by tests/browser/run.sh, which starts the server and installs playwright-core.
import { chromium } from "playwright-core";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generatedTexts } from "./maskcases.mjs";
import { xlsx } from "./xlsx.mjs";

const BASE = process.env.BASE_URL;
const SHOTS = process.env.SCREENSHOTS;
const AS_OF = process.env.AS_OF || "2026-11-28";
// A server with API keys (optional): a token that may check, one that may only search.
const KEYED = process.env.KEYED_URL;
const TOKEN_CHECK = process.env.TOKEN_CHECK;
const TOKEN_SEARCH = process.env.TOKEN_SEARCH;
// And one that may check, search and see people's numbers whole (personal_full).
const TOKEN_FULL = process.env.TOKEN_FULL;
if (!BASE || !SHOTS) throw new Error("BASE_URL and SCREENSHOTS must be set (run tests/browser/run.sh)");

const steps = [];
function check(cond, what, detail = "") {
  if (!cond) throw new Error(`FAILED: ${what}${detail ? `\n  ${detail}` : ""}`);
  steps.push(what);
  console.log(`ok - ${what}`);
}

/** Clicks the results' download button; returns the text of the file saved as `name`, without its BOM. */
async function downloadResults(page, dir, name) {
  const downloading = page.waitForEvent("download");
  await page.click("#batch-download");
  const saved = join(dir, name);
  await (await downloading).saveAs(saved);
  return readFileSync(saved, "utf8").replace(/^\ufeff/, "");
}

const profile = mkdtempSync(join(tmpdir(), "credgate-chromium-"));
// Background networking, component updates and sync make Chromium open connections of its
// own, which closed networks (and CI) refuse; the page itself needs only BASE.
// Playwright wants the fresh profile directory as the persistent context's directory rather
// than as a --user-data-dir argument; it passes it to Chromium as that flag.
const context = await chromium.launchPersistentContext(profile, {
  executablePath: "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
  viewport: { width: 1280, height: 800 },
  locale: "zh-CN",
  acceptDownloads: true,
});

let failed = false;
try {
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    // A refused request shows as a console error too; 422 is the expected answer to an
    // invalid code, so only other failures count.
    // On the keyed server 401 and 403 are expected answers too.
    if (m.type() === "error" && !/status of (401|403|422)/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  // Every single check goes as POST with the code in a JSON body: a URL (and a person's
  // number in it) lands in the access log of every proxy on the way.
  const checkRequests = [];
  page.on("request", (r) => {
    if (r.url().includes("/v1/check")) checkRequests.push(r);
  });
  // A cancelled batch aborts its request on purpose; nothing else may fail.
  let cancelling = false;
  page.on("requestfailed", (r) => {
    const screenAborted = r.url().includes("/v1/screen") && r.failure()?.errorText === "net::ERR_ABORTED";
    // Chromium can report a no-store answer that a stream reader read to its end as aborted
    // (microsoft/playwright#42742); /v1/screen answers are no-store and read so. Such an
    // answer arrived whole (responseEnd is set, and the row counts checked below would show
    // a lost row), so only an abort before the answer ended counts.
    const readToEnd = screenAborted && r.timing().responseEnd > 0;
    const aborted = (cancelling && screenAborted) || readToEnd;
    if (!aborted) problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });

  // --- The page and its headers.
  const resp = await page.goto(BASE + "/");
  check(resp.status() === 200, "GET / answers 200");
  const headers = resp.headers();
  check(headers["content-type"].startsWith("text/html"), "the page is text/html", headers["content-type"]);
  check(/script-src 'self'/.test(headers["content-security-policy"] || ""), "the page has a strict CSP",
    headers["content-security-policy"]);
  check((await page.title()).includes("信用核查"), "the title is Chinese");
  await page.waitForFunction(() => /名单数据/.test(document.getElementById("snapshot").textContent));
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll("input, select")]
      .filter((e) => e.labels.length === 0 && !e.getAttribute("aria-label"))
      .map((e) => e.id));
  check(unlabelled.length === 0, "every field has a label", unlabelled.join(", "));
  check(await page.inputValue("#as-of") !== "", "as_of defaults to a date");

  const code = page.locator("#code");
  const card = page.locator("#result .card");
  const typeCode = async (text) => {
    await code.fill("");
    await code.pressSequentially(text);
  };
  const submitAndWait = async () => {
    const answered = page.waitForResponse((r) => r.url().includes("/v1/check"));
    await code.press("Enter");
    await answered;
  };
  await page.fill("#as-of", AS_OF);

  // --- A black-listed organisation in public resource trading: deny.
  await page.selectOption("#scenario", { label: "公共资源交易" });
  await typeCode("914101027110665834");
  check(/格式正确/.test(await page.textContent("#code-msg")), "a valid code is accepted as typed");
  const firstCheck = page.waitForRequest((r) => r.url().includes("/v1/check"));
  await submitAndWait();
  const posted = await firstCheck;
  check(posted.method() === "POST" && new URL(posted.url()).pathname === "/v1/check" && new URL(posted.url()).search === "",
    "a check is a POST to /v1/check with nothing in the URL", `${posted.method()} ${posted.url()}`);
  check((posted.headers()["content-type"] || "").startsWith("application/json") &&
    JSON.stringify(posted.postDataJSON()) === JSON.stringify({ id: "914101027110665834", scenario: "procurement", as_of: AS_OF }),
    "its JSON body carries the code, the scenario and the date", posted.postData());
  let text = await card.innerText();
  check(await card.getAttribute("data-decision") === "deny", "914101027110665834 in 公共资源交易 is deny");
  check(text.includes("禁止") && text.includes("不予办理"), "the card shows the deny wording", text);
  check(text.includes("失信被执行人名单"), "the card names the list 失信被执行人名单", text);
  check(text.includes("(2024)豫0102执1234号") && text.includes("郑州市中原区人民法院"),
    "the card shows doc_no and authority", text);
  check(/依据：《实施方案》五\(二\)3/.test(text), "the measure shows its basis", text);
  await page.screenshot({ path: join(SHOTS, "01-deny-1280x800.png") });

  // --- A red-listed organisation in public resource trading: its reward there is 信用加分,
  // not licensing's green channel, and the verdict claims no more than the measure says.
  await typeCode("914101844590813695");
  await submitAndWait();
  text = await card.innerText();
  check(await card.getAttribute("data-decision") === "fast_track", "914101844590813695 in 公共资源交易 is fast_track");
  check(text.includes("适用守信激励") && text.includes("信用加分") && !text.includes("绿色通道"),
    "the card names procurement's reward, not licensing's green channel", text);

  // --- The same code typed full-width with spaces.
  await typeCode("９１４１ ０１０２ ７１１０ ６６５８ ３４");
  check(/格式正确/.test(await page.textContent("#code-msg")), "a full-width spaced code is accepted as typed");
  await submitAndWait();
  text = await card.innerText();
  check(text.includes("914101027110665834") && text.includes("禁止"), "the full-width code gives the same deny", text);

  // --- A person's number that passes the USCC checks too is judged a person's, as the
  // server judges it.
  await typeCode("410184198003151070");
  check(/居民身份证号码格式正确/.test(await page.textContent("#code-msg")),
    "a code valid as both kinds is taken for a person's number");

  // --- A 15-digit legacy number whose birth date does not exist (1968-13-32) is an error
  // at once, not "15 / 18 typed"; 15 digits that may still become an 18-digit number are not.
  await typeCode("410102681332021");
  check(/19681332 不存在/.test(await page.textContent("#code-msg")) && await code.getAttribute("aria-invalid") === "true",
    "410102681332021: the impossible legacy birth date is an error", await page.textContent("#code-msg"));
  await typeCode("410102196804120");
  check(/已输入 15 \/ 18/.test(await page.textContent("#code-msg")), "15 digits of an 18-digit number are progress");

  // --- Screen readers hear a change of state (valid, invalid), not every key's count: the
  // message under the field is no live region, a hidden one says only the changes.
  check(await page.getAttribute("#code-msg", "aria-live") === null, "the typing message is no live region");
  await typeCode("");
  await page.evaluate(() => {
    window.__announced = [];
    new MutationObserver(() => window.__announced.push(document.getElementById("code-status").textContent))
      .observe(document.getElementById("code-status"), { childList: true, characterData: true, subtree: true });
  });
  await typeCode("41010219680412021");
  await code.pressSequentially("1");
  await code.press("Backspace");
  await code.pressSequentially("2");
  await code.press("Backspace");
  await code.pressSequentially("1");
  const announced = await page.evaluate(() => window.__announced.filter((t) => t));
  check(announced.length === 3 && /格式正确/.test(announced[0]) && /应为 1/.test(announced[1]) && /格式正确/.test(announced[2]),
    "the live region announces valid, invalid, valid and nothing while typing", JSON.stringify(announced));
  check(await page.getAttribute("#code-status", "aria-live") === "polite" &&
    (await page.locator("#code-status").boundingBox()).width <= 1,
    "the announcements are polite and not shown twice on screen");

  // --- A mistyped check character: the live message names the right one.
  await typeCode("9111000060003734");
  check(/已输入 16 \/ 18/.test(await page.textContent("#code-msg")), "a partial code shows its progress");
  await code.pressSequentially("1N");
  const msg = await page.textContent("#code-msg");
  check(/应为 L/.test(msg) && await code.getAttribute("aria-invalid") === "true",
    "91110000600037341N: the live message says the check character should be L", msg);
  const rejected = page.waitForResponse((r) => r.url().includes("/v1/check"));
  await code.press("Enter");
  check((await rejected).status() === 422, "the server refuses it with 422");
  await page.locator("#result .error-box").waitFor();
  text = await page.innerText("#result");
  check(/校验位应为 L/.test(text), "the server's expected_check L is shown", text);

  // --- A person reached through an organisation: masked number, linked-org note.
  await page.selectOption("#scenario", { label: "乘坐飞机 / 高等级列车" });
  await typeCode("410102196804120211");
  await submitAndWait();
  await card.waitFor();
  text = await card.innerText();
  check(await card.getAttribute("data-decision") === "deny", "410102196804120211 in 乘坐飞机/高等级列车 is deny");
  check(text.includes("410102********0211"), "the person's number is masked", text);
  check(!(await page.innerText("#result")).includes("196804120"), "the full number is nowhere in the card");
  check(text.includes("通过 郑州市中原区恒达建材有限公司（914101027110665834）的 法定代表人"),
    "the card says the record reaches him as legal representative of 恒达建材", text);
  check(text.includes("王建国"), "the card shows the person's name");
  check(text.includes("本人无直接记录"), "every record reaches him through a link: 本人无直接记录", text);
  await page.screenshot({ path: join(SHOTS, "02-linked-person-1280x800.png"), fullPage: true });

  // --- The same person with a record of his own besides (the demo data has none, so the
  // answer is changed on its way): 本人无直接记录 would be false.
  await page.route("**/v1/check", async (route) => {
    const answer = await route.fetch();
    const d = await answer.json();
    const own = { ...d.records[0], record_id: "OWN-1", list_name: "本人记录" };
    delete own.via;
    d.records.unshift(own);
    await route.fulfill({ response: answer, json: d });
  });
  await submitAndWait();
  await page.waitForFunction(() => /OWN-1/.test(document.querySelector("#result .card")?.innerText || ""));
  text = await card.innerText();
  check(!text.includes("本人无直接记录") && /除本人的 1 条记录外，另有 [0-9]+ 条记录因其在失信单位中的任职而及于本人/.test(text),
    "own and linked records: the note counts both and does not say 本人无直接记录", text);
  await page.unroute("**/v1/check");

  // --- A date before the data's history: the card says the data does not reach back.
  const snapshot = await (await fetch(BASE + "/v1/snapshot")).json();
  check(!text.includes("早于名单数据的起始日期"), "a date within the data's history has no caveat");
  await page.fill("#as-of", "2019-01-01");
  await page.selectOption("#scenario", { label: "公共资源交易" });
  await typeCode("914101844590813695");
  await submitAndWait();
  await page.waitForFunction(() => /2019-01-01/.test(document.querySelector("#result .card")?.innerText || ""));
  text = await card.innerText();
  check(text.includes(`核查日期 2019-01-01 早于名单数据的起始日期 ${snapshot.history_from}`),
    "a date before history_from gets the caveat", text);
  await page.fill("#as-of", AS_OF);

  // --- Name search: suggestions, keyboard pick, the code field filled and checked.
  const name = page.locator("#name");
  await name.click();
  await name.pressSequentially("郑州市中原区恒达");
  const option = page.locator("#suggestions [role=option]", { hasText: "恒达建材" });
  await option.waitFor();
  check(await name.getAttribute("aria-expanded") === "true", "the suggestion list opens");
  await page.screenshot({ path: join(SHOTS, "03-search-1280x800.png") });
  const checked = page.waitForResponse((r) => r.url().includes("/v1/check"));
  await name.press("Enter");
  await checked;
  check(await code.inputValue() === "914101027110665834", "picking 恒达建材 fills the code field");
  await page.waitForFunction(() => document.querySelector("#result .card")?.innerText.includes("914101027110665834"));
  check(await card.getAttribute("data-decision") === "deny", "and checks it at once");

  // --- Name search for a person, whose number comes back masked: the code field is
  // emptied for the number from the ID card, and the message says it is masked.
  const pickPerson = async (who) => {
    await name.fill("");
    // Escape closes an earlier list, so that the option waited for is this search's.
    await name.press("Escape");
    await name.pressSequentially(who);
    await page.locator("#suggestions [role=option]", { hasText: who }).waitFor();
    await page.evaluate(() => { document.getElementById("code-msg").textContent = ""; });
    await name.press("Enter");
    await page.waitForFunction((w) => document.getElementById("code-msg").textContent.startsWith(w), who);
    return [await code.inputValue(), await page.textContent("#code-msg")];
  };
  const before = checkRequests.length;
  let [picked, said] = await pickPerson("刘洋");
  check(picked === "" && said.includes("已脱敏（410184********1699）"),
    "picking a person whose number is masked empties the code field and says it is masked", `${picked} | ${said}`);
  check(checkRequests.length === before, "and checks nothing");

  // --- The page masks caller text by the server's rule (trust::privacy::mask_numbers).
  const maskCases = [
    ["410102196804120211", "410102********0211"],
    ["410102－19680412－0211", "410102********0211"],
    ["410102‐19680412―0211", "410102********0211"],
    ["410102\u300019680412\u00a00211", "410102********0211"],
    ["4101 0219 6804 1202 110", "410102*********2110"],
    ["4101 0219 6804 1202 1x", "410102********021x"],
    ["４１０１０２１９６８０４１２０２１Ｘ", "410102********021X"],
    ["3201 0285 0611 1230", "320102******1230"],
    ["410102680412021", "410102*****2021"],
    ["1234 5678 9012 3", "1234 5678 9012 3"],
    ["4101 0219 6804 12X2", "4101 0219 6804 12X2"],
    ["91410104MACKHWBA9J", "91410104MACKHWBA9J"],
    ["法人（410102196804120211）与（４１０１０２１９６８０４１２０２１１）", "法人（410102********0211）与（４１０１０２********０２１１）"],
    ["代码91110000600037341L，号41010219680412021X", "代码91110000600037341L，号410102********021X"],
    ["错码91110000600037341N", "错码911100*******7341N"],
    ["账号6222021234567890123", "账号622202*********0123"],
    // Numbers in groups inside text: masked digit by digit, separators kept; dates, ranges
    // and amounts in groups left alone.
    ["法定代表人身份证号 110101 19900307 123X 被列入", "法定代表人身份证号 110101 ******** 123X 被列入"],
    ["卡号4101 0219 6804 1202 11", "卡号4101 02** **** **02 11"],
    ["身份证：110101-19900307-1234，", "身份证：110101-********-1234，"],
    ["号码１１０１０１\u3000１９９００３０７\u3000１２３Ｘ。", "号码１１０１０１\u3000********\u3000１２３Ｘ。"],
    ["有效期 2019-01-01 - 2020-12-31 止", "有效期 2019-01-01 - 2020-12-31 止"],
    ["有效期 20190101-20191231 止", "有效期 20190101-20191231 止"],
    ["罚款 123 456 789 012 345 元", "罚款 123 456 789 012 345 元"],
    // Groups joined by punctuation: masked when they hold 15 or 18 characters, a person's
    // number; amounts and dates written with the same marks left alone.
    ["法人410102/196804120211，", "法人410102/********0211，"],
    ["410102.19680412021X", "410102.********021X"],
    // Groups that hold more: the part that holds a person's number is masked.
    ["法人410102/196804120211,2019年列入", "法人410102/********0211,2019年列入"],
    ["410102/196804120211,410103/196805010022", "410102/********0211,410103/********0022"],
    // The full-width marks join as the ASCII ones; the ideographic comma and full stop do not.
    ["法人410102／196804120211，2019年列入", "法人410102／********0211，2019年列入"],
    ["４１０１０２．１９６８０４１２．０２１Ｘ", "４１０１０２．********．０２１Ｘ"],
    ["金额 1，234，567．89 元，2026．11．30", "金额 1，234，567．89 元，2026．11．30"],
    ["410102、196804120211。", "410102、196804120211。"],
    ["金额 1,234,567.89 元，2026.11.30 至 2026/11/30", "金额 1,234,567.89 元，2026.11.30 至 2026/11/30"],
  ];
  const masked = await page.evaluate((cases) => cases.map(([c]) => maskNumbers(c)), maskCases);
  const wrong = maskCases.map(([c, want], i) => [c, masked[i], want]).filter(([, got, want]) => got !== want)
    .map(([c, got, want]) => `${c} → ${got}, want ${want}`);
  check(wrong.length === 0, "maskNumbers masks as the server: whole fields, runs of 14+ digits, numbers in groups inside text; credit codes, dates, amounts kept",
    wrong.join("\n  "));

  // --- And on 20,000 generated strings (tests/browser/maskcases.mjs): the server masks them as
  // the `t` field of NDJSON rows it screens and echoes, the page as its own rule has it.
  {
    const texts = generatedTexts(20_000);
    const screened = await fetch(`${BASE}/v1/screen?scenario=procurement`, {
      method: "POST",
      headers: { "Content-Type": "application/x-ndjson", Accept: "application/x-ndjson" },
      body: texts.map((t) => JSON.stringify({ id: "914101027110665834", t }) + "\n").join(""),
    });
    check(screened.ok, "the server screens the 20,000 generated strings", String(screened.status));
    const served = [];
    for (const line of (await screened.text()).split("\n")) {
      const v = line ? JSON.parse(line) : {};
      if (v.row !== undefined) served[v.row - 1] = v.columns?.t;
    }
    const paged = await page.evaluate((ts) => ts.map((t) => maskNumbers(t)), texts);
    const differ = texts.flatMap((t, i) => (served[i] === paged[i] ? [] : [JSON.stringify([t, served[i], paged[i]])]));
    check(differ.length === 0, "maskNumbers masks 20,000 generated strings as the server does (text, server, page)",
      differ.slice(0, 10).join("\n  "));
    // The strings hold what the rules tell apart: numbers masked in groups only (no 14 digits
    // in a row), and dates and ranges of dates left as they are.
    const inGroups = texts.filter((t, i) => served[i] !== t && !/[0-9\uff10-\uff19]{14}/.test(t)).length;
    const range = /\d{4}-\d\d-\d\d( - |-| )\d{4}-\d\d-\d\d/;
    const datesKept = texts.filter((t, i) => range.test(t) && (served[i] ?? "").includes(t.match(range)[0])).length;
    check(inGroups >= 1000 && datesKept >= 100,
      "the generated strings hold numbers masked only in groups, and date ranges left alone", `${inGroups}, ${datesKept}`);
  }

  // --- Keyboard order: name search, code, scenario.
  await name.focus();
  await page.keyboard.press("Tab");
  check(await page.evaluate(() => document.activeElement.id) === "code", "Tab goes from the name search to the code");
  await page.keyboard.press("Tab");
  check(await page.evaluate(() => document.activeElement.id) === "scenario", "then to the scenario");

  // --- Tablet width: one column, nothing wider than the screen.
  await page.setViewportSize({ width: 768, height: 1024 });
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  check(wide <= 768, "at 768 px the page needs no horizontal scrolling", `scrollWidth ${wide}`);
  await page.screenshot({ path: join(SHOTS, "04-deny-768x1024.png") });
  // --- Phone width: the token field and the card fit.
  await page.setViewportSize({ width: 360, height: 740 });
  const narrow = await page.evaluate(() => document.documentElement.scrollWidth);
  check(narrow <= 360, "at 360 px the page needs no horizontal scrolling", `scrollWidth ${narrow}`);
  await page.screenshot({ path: join(SHOTS, "04b-deny-360x740.png"), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 800 });

  // --- Batch: upload a CSV, see the summary, download the results.
  await page.click("#tab-batch");
  check(await page.isVisible("#batch-form") && !(await page.isVisible("#check-form")), "the batch tab shows");
  const dir = mkdtempSync(join(tmpdir(), "credgate-batch-"));
  const csv = join(dir, "suppliers.csv");
  const suppliers = [
    // The code column is not first: the page finds it by its name, quoted or not. The notes
    // hold numbers that are masked wherever the page shows them: an account number and a
    // person's number glued to letters.
    ["名称", "统一社会信用代码", "备注"],
    ["恒达建材", "914101027110665834", "账号6222021234567890123"],
    ["错码单位", "91110000600037341N", "410102－19680412－0211"],
    ["永兴机械", "914101844590813695", "4101 0219 6804 1202 110"],
    ["恒信电子", "91410100MA2MAYK72W", "=1+1"],
    ["华泰装饰", "91410105MA3LWF6F8Q", "410102/196804120211"],
    ["刘洋", "410184197902141699", "rep410102196804120211x"],
    ["错号", "410184197902141698", ""],
    ["短号", "41018419790214169", ""],
  ];
  const quoted = (cells) => cells.map((c) => `"${c}"`).join(",");
  writeFileSync(csv, [quoted(suppliers[0]), ...suppliers.slice(1).map((r) => r.join(",")), ""].join("\n"));
  await page.setInputFiles("#batch-file", csv);
  await page.selectOption("#batch-scenario", { label: "公共资源交易" });
  await page.fill("#batch-as-of", AS_OF);
  const screened = page.waitForResponse((r) => r.url().includes("/v1/screen"));
  await page.click("#batch-btn");
  check((await screened).status() === 200, "the batch is screened");
  await page.locator("#batch-summary").waitFor();
  const sums = await page.evaluate(() =>
    Object.fromEntries([...document.querySelectorAll("#batch-summary .sum")].map((s) =>
      [s.querySelector("dt").textContent, Number(s.querySelector("dd").textContent)])));
  check(sums["总行数"] === 8, "the summary counts 8 rows", JSON.stringify(sums));
  check(sums["禁止"] === 2 && sums["审慎审核"] === 1 && sums["守信激励"] === 1 && sums["未发现限制"] === 1,
    "by decision: 2 deny, 1 review, 1 fast_track, 1 clear", JSON.stringify(sums));
  check(sums["代码无效"] === 3, "three invalid codes", JSON.stringify(sums));
  const rows = await page.locator("#batch-result tbody tr").count();
  check(rows === 8, "the table lists 8 rows", String(rows));
  const table = await page.innerText("#batch-result table");
  check(table.includes("410184********1699") && !table.includes("410184197902141699"),
    "people's numbers are masked in the table");
  check(table.includes("410184*******4169") && table.includes("622202*********0123") &&
    table.includes("rep410102********0211x"),
    "every run of 14 or more digits in caller text is masked, whatever is next to it", table);
  check(!/[0-9]{14}/.test(table.replace(/914101027110665834|914101844590813695/g, "")),
    "no other run of 14 digits is in the table", table);
  check(/校验位（第 18 位）应为 L/.test(table) && /校验位（第 18 位）应为 9/.test(table),
    "the invalid rows give the server's expected check character", table);
  check(/代码只有 17 位/.test(table) && !table.includes("“*”"),
    "a short code is told by its length, never by the masking's stars", table);
  check(table.includes("失信被执行人名单") && table.includes("恒达建材"),
    "the table shows list names and the echoed name column", table);
  check((await page.innerText("#batch-result")).includes("办理事项：公共资源交易"),
    "the results name the scenario they were screened for");
  await page.screenshot({ path: join(SHOTS, "05-batch-1280x800.png"), fullPage: true });

  const downloading = page.waitForEvent("download");
  await page.click("#batch-download");
  const download = await downloading;
  const saved = join(dir, "out.csv");
  await download.saveAs(saved);
  const downloaded = readFileSync(saved, "utf8");
  const lines = downloaded.replace(/^\ufeff/, "").trim().split(/\r?\n/);
  check(download.suggestedFilename() === "suppliers-结果.csv", "the download is named after the file", download.suggestedFilename());
  check(lines[0].startsWith("row,名称,统一社会信用代码,备注,decision"), "the CSV numbers the rows and keeps the input columns and their names", lines[0]);
  check(lines[1].startsWith("1,") && lines[8].startsWith("8,"), "the CSV rows carry their row numbers", lines.join("\n"));
  check(lines.length === 9, "the CSV has a header and 8 rows", String(lines.length));
  check(lines[1].includes(",deny,") && lines[2].includes("invalid_id"), "the CSV rows carry the decisions");
  check(!/[0-9０-９]{14}/.test(downloaded.replace(/914101027110665834|914101844590813695/g, "")) &&
    downloaded.includes("rep410102********0211x"),
    "the download masks every run of 14 or more digits but the organisations' codes", downloaded);
  check(lines[2].includes(",410102********0211,") && lines[3].includes(",410102*********2110,") &&
    !downloaded.includes("19680412") && !downloaded.includes("6804 1202"),
    "a cell that is a number split by full-width dashes or written in groups is masked whole", downloaded);
  check(lines[4].includes(",'=1+1,"),
    "a cell that would open as a formula has a ' before it, as in the server's CSV answer", lines[4]);
  const guarded = await page.evaluate(() =>
    ["＝1＋1", "＋86", "－5", "＠SUM(1)", "＝1,2", "a＝1", "ｘ"].map((c) => csvOutCell(c)));
  check(JSON.stringify(guarded) === JSON.stringify(["'＝1＋1", "'＋86", "'－5", "'＠SUM(1)", "\"'＝1,2\"", "a＝1", "ｘ"]),
    "the full-width ＝ ＋ － ＠ are guarded as their ASCII forms (batch::render::formula_like)", JSON.stringify(guarded));
  check(lines[5].includes(",410102/********0211,") && !downloaded.includes("196804120211"),
    "a cell that is a number split by / is masked", lines[5]);

  // The download is the screening shown: changing the form afterwards changes nothing in it.
  await page.selectOption("#batch-scenario", { label: "乘坐飞机 / 高等级列车" });
  await page.fill("#batch-as-of", "2020-01-01");
  const other = join(dir, "other.csv");
  writeFileSync(other, "id\n914101844590813695\n");
  await page.setInputFiles("#batch-file", other);
  const again = page.waitForEvent("download");
  await page.click("#batch-download");
  const second = await again;
  const saved2 = join(dir, "out2.csv");
  await second.saveAs(saved2);
  check(second.suggestedFilename() === "suppliers-结果.csv" && readFileSync(saved2, "utf8") === downloaded,
    "after the form changed, the download is still the screening shown", second.suggestedFilename());
  await page.selectOption("#batch-scenario", { label: "公共资源交易" });
  await page.fill("#batch-as-of", AS_OF);

  // The same suppliers as an Excel workbook: sent as it is, read by the server.
  const book = join(dir, "suppliers.xlsx");
  writeFileSync(book, xlsx(suppliers));
  await page.setInputFiles("#batch-file", book);
  const screenedBook = page.waitForResponse((r) => r.url().includes("/v1/screen"));
  await page.click("#batch-btn");
  const bookResp = await screenedBook;
  check(bookResp.status() === 200, "the workbook is screened");
  check((bookResp.request().headers()["content-type"] || "").includes("spreadsheetml"),
    "the workbook is sent as xlsx", bookResp.request().headers()["content-type"]);
  await page.waitForFunction(() => document.querySelector("#batch-result")?.textContent.includes("suppliers.xlsx"));
  await page.locator("#batch-summary").waitFor();
  const bookSums = await page.evaluate(() =>
    Object.fromEntries([...document.querySelectorAll("#batch-summary .sum")].map((s) =>
      [s.querySelector("dt").textContent, Number(s.querySelector("dd").textContent)])));
  check(JSON.stringify(bookSums) === JSON.stringify(sums), "the workbook gives the CSV's summary", JSON.stringify(bookSums));
  const bookRows = await page.locator("#batch-result tbody tr").count();
  check(bookRows === 8, "the workbook's table lists 8 rows", String(bookRows));
  // Its download is the CSV's: the workbook's columns in its order and under its names, the
  // code column where the workbook has it (second), not first.
  const bookOut = await downloadResults(page, dir, "book-out.csv");
  check(bookOut.split("\n")[0] === lines[0] && bookOut === downloaded.replace(/^\ufeff/, ""),
    "the workbook's download is the CSV's, its columns in the workbook's order", bookOut.split("\n").slice(0, 3).join("\n"));

  // Columns the page cannot take from a parsed answer's keys: a year (JavaScript lists such a
  // key first), a name used twice (the second value would replace the first), rows shorter
  // than the header, one without its code. The workbook's download must still be the CSV's.
  const awkward = [
    ["名称", "统一社会信用代码", "2025", "备注", "备注"],
    ["恒达建材", "914101027110665834", "1200", "甲", "乙"],
    ["刘洋", "410184197902141699", "", "丙", ""],
    ["永兴机械", "914101844590813695"],
    ["短行"],
  ];
  const awkwardOut = {};
  for (const ext of ["csv", "xlsx"]) {
    const file = join(dir, `awkward.${ext}`);
    writeFileSync(file, ext === "csv" ? awkward.map((r) => r.join(",")).join("\n") + "\n" : xlsx(awkward));
    await page.setInputFiles("#batch-file", file);
    await page.click("#batch-btn");
    await page.waitForFunction((name) => document.querySelector("#batch-result h2")?.textContent.startsWith(name), `awkward.${ext}`);
    awkwardOut[ext] = await downloadResults(page, dir, `awkward-${ext}-out.csv`);
  }
  const awkwardLines = awkwardOut.xlsx.split("\n");
  check(awkwardLines[0] === "row,名称,统一社会信用代码,2025,备注,备注,decision,heightened,nonconforming,lists,measures,error" &&
    awkwardLines[1].startsWith("1,恒达建材,914101027110665834,1200,甲,乙,deny,") &&
    awkwardLines[3].startsWith("3,永兴机械,914101844590813695,,,,fast_track,") &&
    awkwardLines[4].startsWith("4,短行,,,,,,"),
    "a workbook's download keeps a year column, both columns of one name and short rows in place", awkwardOut.xlsx);
  check(awkwardOut.xlsx === awkwardOut.csv, "and it is the download of the same list as CSV", `${awkwardOut.csv}\n---\n${awkwardOut.xlsx}`);

  await page.setViewportSize({ width: 768, height: 1024 });
  const batchWide = await page.evaluate(() => document.documentElement.scrollWidth);
  check(batchWide <= 768, "at 768 px the batch results need no page-wide scrolling", `scrollWidth ${batchWide}`);
  await page.screenshot({ path: join(SHOTS, "06-batch-768x1024.png"), fullPage: true });
  await page.setViewportSize({ width: 360, height: 740 });
  const batchNarrow = await page.evaluate(() => document.documentElement.scrollWidth);
  check(batchNarrow <= 360, "at 360 px the batch results need no page-wide scrolling", `scrollWidth ${batchNarrow}`);
  await page.setViewportSize({ width: 1280, height: 800 });

  // --- A large list is sent in parts (one body of some 200,000 rows deadlocked Chromium's
  // upload against the server's streamed answer), with progress, and joined in order. Names
  // with quoted commas, quotes and line breaks must not be cut between parts.
  const ids = ["914101027110665834", "91110000600037341N", "914101844590813695", "91410100MA2MAYK72W",
    "91410105MA3LWF6F8Q", "410184197902141699"];
  const expected = ["deny", "", "fast_track", "clear", "review", "deny"];
  // How the code column reads: valid organisation codes as sent, every other run of 14 or
  // more digits masked.
  const maskIfPerson = (id) => (id === "914101027110665834" || id === "914101844590813695" ? id
    : id.replace(/[0-9]{14,}/g, (run) => run.slice(0, 6) + "*".repeat(run.length - 10) + run.slice(-4)));
  const big = join(dir, "big.csv");
  const bigRows = 60_000;
  const bigLines = ["序号,名称,统一社会信用代码"];
  for (let i = 0; i < bigRows; i++) {
    const name = i % 7 === 0 ? `"单位${i}，含""引号"",逗号,与\n换行"` : `单位${i}`;
    bigLines.push(`${i + 1},${name},${ids[i % ids.length]}`);
  }
  writeFileSync(big, bigLines.join("\r\n") + "\r\n");
  const bodies = [];
  const onRequest = (r) => {
    if (r.url().includes("/v1/screen")) bodies.push(r.postData() || "");
  };
  page.on("request", onRequest);
  await page.setInputFiles("#batch-file", big);
  const started = Date.now();
  await page.click("#batch-btn");
  check(await page.isDisabled("#batch-btn"), "the start button is disabled while a batch runs");
  await page.waitForFunction(() => /已完成 [0-9]+ \/ 60000 行/.test(document.getElementById("batch-progress-text").textContent));
  check(await page.isVisible("#batch-cancel"), "progress (rows done / total) and a cancel button show while it runs");
  await page.locator("#batch-summary").waitFor({ timeout: 120_000 });
  page.off("request", onRequest);
  console.log(`# ${bigRows} rows screened in ${Date.now() - started} ms`);
  check(!(await page.isDisabled("#batch-btn")) && !(await page.isVisible("#batch-progress")),
    "when it is done the button is enabled again and the progress gone");
  const bigSums = await page.evaluate(() =>
    Object.fromEntries([...document.querySelectorAll("#batch-summary .sum")].map((s) =>
      [s.querySelector("dt").textContent, Number(s.querySelector("dd").textContent)])));
  check(bigSums["总行数"] === bigRows && bigSums["禁止"] === bigRows / 3 && bigSums["代码无效"] === bigRows / 6,
    "all 60,000 rows are counted", JSON.stringify(bigSums));
  check(bodies.length === Math.ceil(bigRows / 5000) && bodies.every((b) => b.startsWith("序号,名称,id\n")),
    "the list went in parts of 5,000 rows, each with the header (the code column named id)",
    `${bodies.length} requests; ${bodies.map((b) => b.slice(0, 20)).join(" | ")}`);
  const bigDownloading = page.waitForEvent("download");
  await page.click("#batch-download");
  const bigSaved = join(dir, "big-out.csv");
  await (await bigDownloading).saveAs(bigSaved);
  const bigOut = readFileSync(bigSaved, "utf8").replace(/^\ufeff/, "");
  // Records, not lines: the names hold line breaks.
  const records = bigOut.match(/(?:[^"\n]|"(?:[^"]|"")*")+/g);
  check(records.length === bigRows + 1 && records[0] === "row,序号,名称,统一社会信用代码,decision,heightened,nonconforming,lists,measures,error",
    "the download has a header and a line per row", `${records.length} records; ${records[0]}`);
  const cellsOf = (rec) => {
    const cells = [];
    for (let i = 0; ; i++) {
      let cell = "";
      if (rec[i] === '"') {
        for (i++; ; i += 2) {
          const q = rec.indexOf('"', i);
          cell += rec.slice(i, q);
          i = q;
          if (rec[q + 1] !== '"') break;
          cell += '"';
        }
        i++;
      } else {
        const comma = rec.indexOf(",", i);
        const end = comma < 0 ? rec.length : comma;
        cell = rec.slice(i, end);
        i = end;
      }
      cells.push(cell);
      if (i >= rec.length) return cells;
    }
  };
  const misplaced = records.slice(1).findIndex((rec, i) => {
    const c = cellsOf(rec);
    return c.length !== 10 || c[0] !== String(i + 1) || c[1] !== String(i + 1) ||
      c[3] !== maskIfPerson(ids[i % ids.length]) || c[4] !== expected[i % expected.length];
  });
  check(misplaced === -1, "every row has its own number, its own input and its own decision, in order",
    misplaced < 0 ? "" : records[misplaced + 1]);

  // --- Cancel: the requests stop and the page is ready for the next batch. (Small parts
  // here, so that there is time to press the button between them.)
  await page.evaluate(() => { document.getElementById("batch-form").dataset.partRows = "200"; });
  await page.click("#batch-btn");
  await page.waitForFunction(() => /已完成 [1-9][0-9]* \/ 60000 行/.test(document.getElementById("batch-progress-text").textContent));
  await page.screenshot({ path: join(SHOTS, "08-batch-progress-1280x800.png") });
  cancelling = true;
  await page.click("#batch-cancel");
  await page.waitForFunction(() => /已取消筛查/.test(document.getElementById("batch-result").textContent));
  let after = 0;
  const countAfter = (r) => {
    if (r.url().includes("/v1/screen")) after++;
  };
  page.on("request", countAfter);
  await page.waitForTimeout(300);
  page.off("request", countAfter);
  cancelling = false;
  const cancelled = await page.innerText("#batch-result");
  check(after === 0 && /已取消筛查（已完成 [0-9]+ \/ 60000 行）/.test(cancelled) && !(await page.isDisabled("#batch-btn")),
    "cancel stops the requests, says how far it got and enables the button", `${after} requests after; ${cancelled}`);
  check(await page.locator("#batch-download").count() === 0, "a cancelled batch offers no download of part of it");
  await page.evaluate(() => { delete document.getElementById("batch-form").dataset.partRows; });
  rmSync(dir, { recursive: true, force: true });

  // --- A server with keys: the token field, 401/403 in Chinese, the token kept per tab.
  if (KEYED) {
    await page.goto(KEYED + "/");
    await page.waitForFunction(() => /需要访问令牌/.test(document.getElementById("snapshot").textContent));
    check(true, "without a token the header asks for one");
    check(await page.getAttribute("#token", "type") === "password", "the token field hides what is typed");
    const ask = async () => {
      const answered = page.waitForResponse((r) => r.url().includes("/v1/check"));
      await page.click("#check-btn");
      return (await answered).status();
    };
    await page.fill("#code", "914101027110665834");
    await page.selectOption("#scenario", { label: "公共资源交易" });
    // The card is drawn after the answer's body is read: wait for it, not for the response.
    const cardSays = async (pattern) => {
      try {
        await page.waitForFunction((src) => new RegExp(src).test(document.getElementById("result").innerText),
          pattern.source, { timeout: 5000 });
        return true;
      } catch (_) {
        return false;
      }
    };
    check(await ask() === 401, "a check without a token is refused with 401");
    check(await cardSays(/需要访问令牌/), "the card asks for the token");
    await page.fill("#token", "not-a-token");
    check(await ask() === 401, "a wrong token is refused with 401");
    check(await cardSays(/令牌无效/), "the card says 令牌无效", await page.innerText("#result"));
    await page.fill("#token", TOKEN_SEARCH);
    check(await ask() === 403, "a token without the check scope gets 403");
    await cardSays(/无此权限/);
    const denied = await page.innerText("#result");
    check(/无此权限/.test(denied) && denied.includes("单个核查") && denied.includes("check"),
      "the card says 无此权限 and names the scope", denied);
    await page.fill("#token", TOKEN_CHECK);
    await page.press("#token", "Tab"); // change event: stored and the header refreshed
    const sent = page.waitForRequest((r) => r.url().includes("/v1/check"));
    check(await ask() === 200, "with the right token the check answers 200");
    const req = await sent;
    check(req.headers()["authorization"] === "Bearer " + TOKEN_CHECK, "the token goes as a Bearer header");
    check(!req.url().includes(TOKEN_CHECK), "and never in the URL");
    check(await page.locator("#result .card").getAttribute("data-decision") === "deny",
      "the decision card shows deny");
    const stored = await page.evaluate(() => [sessionStorage.getItem("credgate.token"), localStorage.length]);
    check(stored[0] === TOKEN_CHECK && stored[1] === 0, "the token is in sessionStorage only", JSON.stringify(stored));
    await page.reload();
    check(await page.inputValue("#token") === TOKEN_CHECK, "a reload in the same tab keeps the token");
    await page.waitForFunction(() => /名单数据/.test(document.getElementById("snapshot").textContent));
    await page.screenshot({ path: join(SHOTS, "07-keyed-1280x800.png") });

    // Name search with keys: a key without personal_full gets the number masked, and the
    // page says so; one with it gets the whole number, which the page fills in for the
    // clerk to compare with the ID card, and says nothing of masking.
    [picked, said] = await pickPerson("刘洋");
    check(picked === "" && said.includes("已脱敏（410184********1699）"),
      "with a key that may not see numbers, the pick says the number is masked", `${picked} | ${said}`);
    if (TOKEN_FULL) {
      await page.fill("#token", TOKEN_FULL);
      await page.press("#token", "Tab");
      const checksBefore = checkRequests.length;
      [picked, said] = await pickPerson("刘洋");
      check(picked === "410184197902141699" && !said.includes("脱敏") && said.includes("已填入完整证件号码"),
        "with a personal_full key, the pick fills in the whole number and claims no masking", `${picked} | ${said}`);
      check(checkRequests.length === checksBefore && await page.evaluate(() => document.activeElement.id) === "code",
        "the number waits in the code field, focused, to be compared with the ID card");
      const fullCheck = page.waitForRequest((r) => r.url().includes("/v1/check"));
      await page.press("#code", "Enter");
      const req = await fullCheck;
      check(req.method() === "POST" && !req.url().includes("410184197902141699") && req.postDataJSON().id === "410184197902141699",
        "Enter checks it, the number in the POST body and not in the URL", `${req.method()} ${req.url()}`);
      await page.waitForFunction(() => document.querySelector("#result .card")?.innerText.includes("刘洋"));
      check((await page.innerText("#result .card")).includes("410184197902141699"),
        "and the card, for this key, shows the number whole");
    }
  }

  const queried = checkRequests.filter((r) => r.method() !== "POST" || new URL(r.url()).search !== "");
  check(checkRequests.length > 0 && queried.length === 0, `all ${checkRequests.length} checks were POSTs with nothing in the URL`,
    queried.map((r) => `${r.method()} ${r.url()}`).join("\n  "));

  check(problems.length === 0, "no script errors, CSP violations or failed requests", problems.join("\n  "));
  console.log(`# ${steps.length} checks passed`);
} catch (e) {
  failed = true;
  console.error(e.message);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
