// The counter page: single checks, name search and batch screening against this server's
// /v1 API. Served from the binary with a strict Content-Security-Policy, so everything here
// builds DOM nodes with textContent (never innerHTML from data) and no code is inline.
"use strict";

// ---------------------------------------------------------------------------------------
// Labels. The wire values are the API's (openapi.yaml); the Chinese is what a clerk reads.

const SCENARIOS = [
  ["licensing", "行政许可"],
  ["procurement", "公共资源交易"],
  ["fiscal_funds", "财政性资金"],
  ["market_entry", "市场和行业禁入"],
  ["honors", "荣誉称号 / 评先评优"],
  ["finance", "融资 / 债券 / 金融机构"],
  ["transport", "乘坐飞机 / 高等级列车"],
  ["consumption", "高消费 / 不动产 / 出境"],
  ["inspection", "日常检查"],
  ["public_services", "公共服务"],
];

const OUTCOMES = {
  deny: { title: "禁止 / 不予办理", sub: "存在须依法限制的失信记录。" },
  review: { title: "审慎审核 / 人工复核", sub: "存在失信记录，请经办人从严审核后决定。" },
  clear: { title: "未发现限制", sub: "未发现对本事项有约束的名单记录，可按常规程序办理。" },
  // What a reward means depends on the scenario (SPEC §4: 绿色通道 in licensing, 信用加分 in
  // procurement, 优先考虑, 信易贷, fewer inspections, 优先满足), so the verdict names none of
  // them: the measures listed under it say which applies.
  fast_track: { title: "适用守信激励", sub: "符合守信激励条件，可按下列激励措施优先、便利办理。" },
};

const CLASSES = { black: "黑名单", focus: "重点关注名单", red: "红名单" };
const ROLES = {
  legal_rep: "法定代表人",
  principal: "主要负责人",
  responsible: "直接责任人员",
  director: "董事",
  shareholder: "股东",
  controller: "实际控制人",
};
const KINDS = { punish: "惩戒", reward: "激励" };
const BINDINGS = { mandatory: "约束性措施", recommended: "倡导性措施" };
const EFFECTS = { deny: "不予办理", review: "审慎审核", fast_track: "守信激励" };
const ID_TYPES = { uscc: "统一社会信用代码", ric: "居民身份证号码" };

// ---------------------------------------------------------------------------------------
// Identifier checks, the same rules as the server (index-builder/src/ids): normalise, then
// GB 32100-2015 (MOD 31 and the embedded organisation-code check) or GB 11643-1999
// (MOD 11-2 and the birth date). They only make typing responsive; the server's answer
// (422 invalid_id with expected_check) is what counts.

const USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
const ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2];
const RIC_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const RIC_CHECK = "10X98765432";

/**
 * What the server's parser drops between a code's characters (ids::normalize::is_separator):
 * white space as Rust's char::is_whitespace has it (JavaScript's \s differs in U+0085 and
 * U+FEFF), zero-width characters and byte-order marks, hyphens, dashes and the minus sign.
 */
const ID_SEPARATOR = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200d\u2028\u2029\u202f\u205f\u2060\u3000\ufeff\-\u2010-\u2015\u2212]/;

/** Folds full-width forms to ASCII, drops separators, upper-cases. */
function normalizeId(input) {
  let out = "";
  for (const ch of input) {
    let c = ch.codePointAt(0);
    if (c >= 0xff01 && c <= 0xff5e) c -= 0xfee0;
    const s = String.fromCodePoint(c);
    if (/[0-9A-Za-z]/.test(s)) out += s.toUpperCase();
    else if (ID_SEPARATOR.test(s)) continue;
    else return { bad: s, position: out.length + 1 };
  }
  return { code: out };
}

function usccCheck(first17) {
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const v = USCC_CHARSET.indexOf(first17[i]);
    if (v < 0) return null;
    sum += v * USCC_WEIGHTS[i];
  }
  return USCC_CHARSET[(31 - (sum % 31)) % 31];
}

function orgCheck(body8) {
  let sum = 0;
  for (let i = 0; i < 8; i++) {
    const c = body8.charCodeAt(i);
    const v = c <= 57 ? c - 48 : c - 55;
    sum += v * ORG_WEIGHTS[i];
  }
  const r = 11 - (sum % 11);
  return r === 10 ? "X" : r === 11 ? "0" : String(r);
}

function ricCheck(first17) {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * RIC_WEIGHTS[i];
  return RIC_CHECK[sum % 11];
}

/** An error message for a USCC, or "" when valid; `lenient` accepts a wrong MOD 31 check. */
function usccProblem(code, lenient) {
  if (!/[1-9ANY]/.test(code[0])) return "第 1 位应为登记管理部门代码（1–9、A、N 或 Y）";
  // Entity types are the digits 1-9; market regulation (9) issues only 1, 2 and 3.
  if (code[0] === "9" && !/[1-3]/.test(code[1])) return "第 2 位应为机构类别代码（登记管理部门 9 只用 1、2、3）";
  if (!/[1-9]/.test(code[1])) return "第 2 位应为机构类别代码（1–9）";
  for (let i = 1; i < 17; i++) {
    if (i >= 2 && i <= 7 && !/[0-9]/.test(code[i])) return `第 ${i + 1} 位应为数字（第 3–8 位是行政区划码）`;
    if (USCC_CHARSET.indexOf(code[i]) < 0) return `第 ${i + 1} 位“${code[i]}”不能出现在代码中（不用 I、O、S、V、Z）`;
  }
  const org = orgCheck(code.slice(8, 16));
  if (org !== code[16]) return `组织机构代码校验位错误：第 17 位应为 ${org}，输入的是 ${code[16]}`;
  const check = usccCheck(code.slice(0, 17));
  if (check !== code[17]) {
    if (lenient) return "";
    return `校验码错误：第 18 位应为 ${check}，输入的是 ${code[17]}`;
  }
  return "";
}

/** Whether eight digits YYYYMMDD name a real calendar day. */
function dateExists(yyyymmdd) {
  if (!/^[0-9]{8}$/.test(yyyymmdd)) return false;
  const y = Number(yyyymmdd.slice(0, 4));
  const m = Number(yyyymmdd.slice(4, 6));
  const d = Number(yyyymmdd.slice(6, 8));
  const date = new Date(Date.UTC(2000, m - 1, d));
  date.setUTCFullYear(y);
  return m >= 1 && m <= 12 && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

function birthProblem(yyyymmdd, today) {
  if (!dateExists(yyyymmdd)) return `出生日期 ${yyyymmdd} 不存在`;
  const y = Number(yyyymmdd.slice(0, 4));
  const iso = `${yyyymmdd.slice(0, 4)}-${yyyymmdd.slice(4, 6)}-${yyyymmdd.slice(6, 8)}`;
  if (iso > today) return `出生日期 ${iso} 晚于今天`;
  if (y < 1800) return `出生日期 ${iso} 早于 1800 年`;
  return "";
}

/** Province-level address codes (GB/T 2260), residence permits 81–83; 9 is a foreigner's card. */
const RIC_PROVINCE = /^(1[1-5]|2[1-3]|3[1-7]|4[1-6]|5[0-4]|6[1-5]|71|8[1-3]|9[0-9])/;

function ricProblem(code, today) {
  if (/^[0-9]{2}/.test(code) && !RIC_PROVINCE.test(code)) {
    return `地址码第 1–2 位“${code.slice(0, 2)}”不是省级行政区划代码`;
  }
  const i = code.slice(0, 17).search(/[^0-9]/);
  if (i >= 0) return `第 ${i + 1} 位应为数字`;
  const birth = birthProblem(code.slice(6, 14), today);
  if (birth) return birth;
  if (!/[0-9X]/.test(code[17])) return `第 18 位应为数字或 X`;
  const check = ricCheck(code.slice(0, 17));
  if (check !== code[17]) return `校验码错误：第 18 位应为 ${check}，输入的是 ${code[17]}`;
  return "";
}

/**
 * Judges what has been typed so far: {state: "empty"|"partial"|"ok"|"error", text, type}.
 * The type is chosen as the server chooses it without a snapshot to ask (18 characters: a
 * valid RIC, else a valid USCC, else the error of the more plausible reading). About one
 * person's number in 340 passes the USCC checks too; the server takes such a code for a
 * person's unless its snapshot holds an organisation under it.
 */
function judgeId(input, lenient, today) {
  const n = normalizeId(input);
  if (n.bad !== undefined) {
    return { state: "error", text: `第 ${n.position} 位“${n.bad}”不是字母或数字` };
  }
  const code = n.code;
  if (code.length === 0) return { state: "empty", text: "" };
  if (code.length > 18) return { state: "error", text: `长度 ${code.length} 位，多于 18 位` };
  if (code.length === 15 && /^[0-9]{15}$/.test(code)) {
    const birth = RIC_PROVINCE.test(code)
      ? birthProblem("19" + code.slice(6, 12), today)
      : `地址码第 1–2 位“${code.slice(0, 2)}”不是省级行政区划代码`;
    if (!birth) return { state: "ok", type: "ric", text: "15 位旧版身份证号码，将按 18 位核查" };
    // Fifteen digits may also be an 18-digit number still being typed. When positions 7–14
    // are no birth date either (410102681332021: 1968-13-32 as a legacy number, 6813-32-02
    // as the start of a new one), they are shown as the error the server would give for
    // them, a legacy number's; an all-digit credit code being typed can pass through this
    // state too, hence the "如为".
    if (birthProblem(code.slice(6, 14), today)) {
      return { state: "error", text: `如为 15 位旧版身份证号码：${birth}` };
    }
  }
  if (code.length < 18) {
    // I, O, S, V and Z appear in neither kind of number, so they are wrong at once.
    const i = code.search(/[IOSVZ]/);
    if (i >= 0) return { state: "error", text: `第 ${i + 1} 位“${code[i]}”不能出现在代码中（不用 I、O、S、V、Z）` };
    return { state: "partial", text: `已输入 ${code.length} / 18 位` };
  }
  const u = usccProblem(code, false);
  const r = ricProblem(code, today);
  if (!r) return { state: "ok", type: "ric", text: "居民身份证号码格式正确" };
  if (!u) return { state: "ok", type: "uscc", text: "统一社会信用代码格式正确" };
  const year = Number(code.slice(6, 10));
  const ricLike = /^[0-9]{17}/.test(code) && ((year >= 1800 && year <= 2099) || dateExists(code.slice(6, 14)));
  // A mistyped person's number is not taken for a nonconforming organisation code.
  if (lenient && !ricLike && !usccProblem(code, true)) {
    return { state: "ok", type: "uscc", text: "非标准代码（校验位不符），按宽松模式核查" };
  }
  return { state: "error", text: ricLike ? `身份证号码：${r}` : `统一社会信用代码：${u}` };
}

// ---------------------------------------------------------------------------------------
// Small DOM helpers.

const $ = (id) => document.getElementById(id);

/** Creates an element with a class and children (strings become text nodes). */
function el(tag, cls, ...children) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

function todayLocal() {
  const d = new Date();
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

function fillScenarios(select, initial) {
  for (const [code, label] of SCENARIOS) {
    const o = document.createElement("option");
    o.value = code;
    o.textContent = label;
    select.append(o);
  }
  select.value = initial;
}

// ---------------------------------------------------------------------------------------
// The access token: typed by the clerk, kept in sessionStorage (this tab only, gone when it
// closes) and never in persistent storage or a URL; sent as a Bearer header on every API call.

const TOKEN_KEY = "credgate.token";

function token() {
  return $("token").value.trim();
}

/** A request to the API, carrying the token (when there is one) as `Authorization: Bearer`. */
function api(url, options = {}) {
  const headers = new Headers(options.headers || {});
  const t = token();
  if (t) headers.set("Authorization", "Bearer " + t);
  return fetch(url, { ...options, headers });
}

function setupToken() {
  const input = $("token");
  try {
    input.value = sessionStorage.getItem(TOKEN_KEY) || "";
  } catch (_) {
    // Storage may be off (private mode); the field still works for this page.
  }
  input.addEventListener("change", () => {
    try {
      if (token()) sessionStorage.setItem(TOKEN_KEY, token());
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch (_) {
      // as above
    }
    showSnapshot();
  });
}

/** The API's error object of a non-2xx answer, or a made-up one when the body is not JSON. */
async function apiError(resp) {
  try {
    const body = await resp.json();
    if (body && body.error) return body.error;
  } catch (_) {
    // fall through
  }
  return { code: "http_" + resp.status, message: `服务返回 ${resp.status}` };
}

const ERROR_LABELS = {
  rate_limited: "请求过于频繁，请稍后再试",
  audit_unavailable: "审计记录暂不可写，服务拒绝应答",
  invalid_id: "代码无效",
  bad_parameter: "请求参数有误",
  not_ready: "服务尚未就绪（名单数据未加载）",
  body_too_large: "文件过大",
  unsupported_media_type: "文件类型不受支持",
  bad_body: "文件内容无法读取",
};

/** Scopes of API keys, for 403 answers. */
const SCOPE_LABELS = {
  check: "单个核查",
  screen: "批量筛查",
  profile: "主体详情",
  search: "名称查找",
  admin: "管理",
  personal_full: "查看完整个人证件号码",
};

/** The Chinese headline of an API error; 401 and 403 depend on the token and the scope. */
function errorLabel(err) {
  if (err.code === "unauthorized") {
    return token() ? "令牌无效：请核对页面顶部的访问令牌" : "需要访问令牌：请在页面顶部填写";
  }
  if (err.code === "forbidden") {
    const scope = err.scope ? `“${SCOPE_LABELS[err.scope] || err.scope}”（${err.scope}）` : "所需的";
    return `无此权限：当前令牌没有${scope}权限`;
  }
  return ERROR_LABELS[err.code] || "出错了";
}

function errorBox(err) {
  const box = el("div", "error-box");
  box.setAttribute("role", "alert");
  box.append(el("strong", null, errorLabel(err)));
  if (err.expected_check) box.append(el("p", null, `校验位应为 ${err.expected_check}。`));
  box.append(el("p", "detail", maskNumbers(err.message)));
  return box;
}

// ---------------------------------------------------------------------------------------
// Tabs: buttons with the ARIA tab pattern; arrow keys move between them.

function setupTabs() {
  const tabs = [$("tab-single"), $("tab-batch")];
  const select = (tab) => {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
      $(t.getAttribute("aria-controls")).hidden = !on;
    }
  };
  tabs.forEach((tab, i) => {
    tab.addEventListener("click", () => select(tab));
    tab.addEventListener("keydown", (e) => {
      if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
        const next = tabs[(i + (e.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
        select(next);
        next.focus();
        e.preventDefault();
      }
    });
  });
}

// ---------------------------------------------------------------------------------------
// Single check.

// The message under the code field changes with every key ("已输入 12 / 18 位"), so it is not
// a live region: screen readers read it with the field (aria-describedby). A separate live
// region announces only a change of state, to valid or to invalid.
let announcedState = "empty";

function showCodeJudgement() {
  const j = judgeId($("code").value, $("lenient").checked, todayLocal());
  const msg = $("code-msg");
  msg.textContent = j.text;
  msg.className = "msg msg-" + j.state;
  $("code").setAttribute("aria-invalid", String(j.state === "error"));
  const state = j.state === "ok" || j.state === "error" ? j.state : "typing";
  if (state !== announcedState) {
    announcedState = state;
    $("code-status").textContent = state === "typing" ? "" : j.text;
  }
  return j;
}

async function runCheck() {
  const j = showCodeJudgement();
  const result = $("result");
  if (j.state === "empty") {
    $("code").focus();
    return;
  }
  // The code goes in a POST body, not the URL: a query string lands in the access logs of
  // every proxy on the way, and a person's number must not.
  const body = { id: $("code").value, scenario: $("scenario").value };
  if ($("as-of").value) body.as_of = $("as-of").value;
  if ($("lenient").checked) body.lenient = true;
  result.replaceChildren(el("p", "placeholder", "正在核查…"));
  result.setAttribute("aria-busy", "true");
  try {
    const resp = await api("/v1/check", {
      method: "POST",
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!resp.ok) {
      const err = await apiError(resp);
      result.replaceChildren(errorBox(err));
      if (err.code === "invalid_id") {
        const msg = $("code-msg");
        msg.textContent = err.expected_check
          ? `服务端校验：校验位应为 ${err.expected_check}`
          : "服务端校验：代码无效";
        msg.className = "msg msg-error";
      }
      return;
    }
    result.replaceChildren(decisionCard(await resp.json()));
  } catch (e) {
    result.replaceChildren(errorBox({ code: "network", message: "无法连接服务：" + e.message }));
  } finally {
    result.removeAttribute("aria-busy");
  }
}

function viaText(via) {
  return `通过 ${via.org_name}（${via.org}）的 ${ROLES[via.role] || via.role} 关联`;
}

function decisionCard(d) {
  const o = OUTCOMES[d.decision] || { title: d.decision, sub: "" };
  const card = el("article", "card card-" + d.decision);
  card.dataset.decision = d.decision;
  const scenario = (SCENARIOS.find(([c]) => c === d.scenario) || [d.scenario, d.scenario])[1];

  const head = el("header", "card-head",
    el("p", "verdict", o.title),
    el("p", "verdict-sub", o.sub));
  card.append(head);

  const facts = el("dl", "facts");
  const fact = (k, v, cls) => facts.append(el("dt", null, k), el("dd", cls, v));
  fact("名称", d.name || "（名单中无此主体）");
  fact(ID_TYPES[d.id_type] || "代码", d.id, "mono");
  fact("办理事项", scenario);
  fact("核查日期", d.as_of);
  card.append(facts);

  const notes = el("ul", "notes");
  if (d.heightened) notes.append(el("li", "note note-heightened", "加重惩戒：在两个及以上领域存在严重失信记录，适用从重措施。"));
  if (d.nonconforming) notes.append(el("li", "note note-nonconforming", "非标准代码：校验位不符合 GB 32100（试点地区旧代码），已按宽松模式核查，请核对营业执照。"));
  const linked = d.records.filter((r) => r.via).length;
  if (linked && linked === d.records.length) {
    notes.append(el("li", "note note-linked", "本人无直接记录，限制因其在失信单位中的任职而及于本人（落实到人）。"));
  } else if (linked) {
    notes.append(el("li", "note note-linked",
      `除本人的 ${d.records.length - linked} 条记录外，另有 ${linked} 条记录因其在失信单位中的任职而及于本人（落实到人）。`));
  }
  const caveat = historyCaveat(d.as_of);
  if (caveat) notes.append(el("li", "note note-history", caveat));
  if (notes.childElementCount) card.append(notes);

  if (d.records.length) {
    card.append(el("h2", null, `名单记录（${d.records.length}）`));
    const list = el("ul", "records");
    for (const r of d.records) list.append(recordItem(r));
    card.append(list);
  } else {
    card.append(el("p", "none", "未发现当日有效的名单记录。"));
  }

  if (d.measures.length) {
    card.append(el("h2", null, `适用措施（${d.measures.length}）`));
    const list = el("ul", "measures");
    for (const m of d.measures) list.append(measureItem(m));
    card.append(list);
  }
  card.append(el("p", "snapshot-id", `数据版本 ${d.snapshot}`));
  return card;
}

function recordItem(r) {
  const li = el("li", "record record-" + r.class);
  const title = el("p", "record-title",
    el("span", "badge badge-" + r.class, CLASSES[r.class] || r.class),
    " ",
    el("strong", null, r.list_name));
  if (r.under_objection) title.append(" ", el("span", "badge badge-objection", "异议处理中"));
  li.append(title);
  const until = r.effective_until || "长期";
  const dl = el("dl", "record-facts");
  const fact = (k, v) => dl.append(el("dt", null, k), el("dd", null, v));
  fact("认定部门", r.authority);
  fact("文书编号", r.doc_no);
  fact("认定日期", r.decided_on);
  fact("有效期", `${r.effective_from} 至 ${until}`);
  if (r.reason) fact("失信事由", r.reason);
  fact("记录编号", r.record_id);
  li.append(dl);
  if (r.via) li.append(el("p", "via", viaText(r.via)));
  return li;
}

function measureItem(m) {
  const li = el("li", "measure measure-" + m.kind);
  li.append(el("p", "measure-title",
    el("span", "badge badge-" + m.kind, KINDS[m.kind] || m.kind),
    " ",
    el("strong", null, m.name),
    " ",
    el("span", "tag", BINDINGS[m.binding] || m.binding),
    " ",
    el("span", "tag tag-effect", EFFECTS[m.effect] || m.effect)));
  const basis = el("p", "basis", "依据：", `《实施方案》${m.basis.seed}`);
  li.append(basis);
  if (m.basis.national.length) {
    const ul = el("ul", "national");
    for (const doc of m.basis.national) ul.append(el("li", null, `《${doc.replace(/ \(/, "》（").replace(/\)$/, "）")}`));
    li.append(ul);
  }
  const why = m.because.map((b) => {
    if (b.record_id) return b.via ? `${b.record_id}（${viaText(b.via)}）` : b.record_id;
    return `连续 ${b.clean_years} 年无不良记录（自 ${b.since}）`;
  });
  if (why.length) li.append(el("p", "because", "因：" + why.join("；")));
  return li;
}

// ---------------------------------------------------------------------------------------
// Name search: a combobox whose list comes from /v1/search, asked 250 ms after the last key.

function setupSearch() {
  const input = $("name");
  const list = $("suggestions");
  let timer = 0;
  let seq = 0;
  let hits = [];
  let active = -1;

  const close = () => {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  };
  const highlight = (i) => {
    active = i;
    [...list.children].forEach((li, j) => li.setAttribute("aria-selected", String(j === i)));
    if (i >= 0 && list.children[i]) {
      input.setAttribute("aria-activedescendant", list.children[i].id);
      list.children[i].scrollIntoView({ block: "nearest" });
    }
  };
  const pick = (i) => {
    const h = hits[i];
    if (!h) return;
    close();
    input.value = h.name;
    if (h.id_type === "ric") {
      const msg = $("code-msg");
      if (h.id.includes("*")) {
        // A masked number (the key lacks personal_full): the clerk types it from the ID card.
        $("code").value = "";
        showCodeJudgement();
        msg.textContent = `${h.name}：个人证件号码已脱敏（${h.id}），请按身份证输入完整号码。`;
        msg.className = "msg msg-partial";
      } else {
        // The whole number (the key holds personal_full). People share names, so it is not
        // checked at once: the clerk compares it with the ID card first, then presses Enter.
        $("code").value = h.id;
        if (showCodeJudgement().state === "ok") {
          msg.textContent = `${h.name}：已填入完整证件号码，请与身份证核对后按回车核查。`;
        }
      }
      $("code").focus();
      return;
    }
    $("code").value = h.id;
    showCodeJudgement();
    runCheck();
  };
  const render = (query, answer) => {
    const chars = [...query.replace(/\s/g, "")].length;
    // A fuzzy hit that differs in as many characters as the query has is no suggestion.
    hits = answer.hits.filter((h) => h.match !== "fuzzy" || 2 * h.distance < chars);
    list.replaceChildren();
    if (!hits.length) {
      list.append(el("li", "empty", "无匹配名称（请从名称开头输入）"));
    }
    hits.forEach((h, i) => {
      const li = el("li", "suggestion",
        el("span", "s-name", h.name),
        el("span", "s-id mono", h.id),
        h.match === "fuzzy" ? el("span", "tag", "近似") : null);
      li.id = "suggestion-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.addEventListener("mousedown", (e) => {
        e.preventDefault();
        pick(i);
      });
      list.append(li);
    });
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    highlight(hits.length ? 0 : -1);
  };
  const ask = async () => {
    const query = input.value.trim();
    const mine = ++seq;
    if (!query) {
      close();
      return;
    }
    const params = new URLSearchParams({ name: query, fuzzy: "1", limit: "8" });
    try {
      const resp = await api("/v1/search?" + params);
      if (mine !== seq) return; // a later keystroke has asked again
      if (!resp.ok) {
        hits = [];
        list.replaceChildren(el("li", "empty", errorLabel(await apiError(resp))));
        list.hidden = false;
        return;
      }
      render(query, await resp.json());
    } catch (_) {
      close();
    }
  };
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(ask, 250);
  });
  input.addEventListener("keydown", (e) => {
    const open = !list.hidden && hits.length > 0;
    if (e.key === "ArrowDown" && open) {
      highlight((active + 1) % hits.length);
      e.preventDefault();
    } else if (e.key === "ArrowUp" && open) {
      highlight((active + hits.length - 1) % hits.length);
      e.preventDefault();
    } else if (e.key === "Enter") {
      e.preventDefault();
      if (open && active >= 0) pick(active);
      else {
        clearTimeout(timer);
        ask();
      }
    } else if (e.key === "Escape") {
      close();
    }
  });
  input.addEventListener("blur", close);
}

// ---------------------------------------------------------------------------------------
// Masking of caller text. Whatever the page shows or downloads of what the caller sent (the
// code column of an invalid row, the other columns, header names, messages quoting a row, the
// file's name) has people's numbers masked by the server's rule (trust::privacy::mask_numbers),
// applied here again: the server does not mask for a key with `personal_full`, and the page
// never shows a full number whatever the key.

const isDigit = (c) => (c >= "0" && c <= "9") || (c >= "\uff10" && c <= "\uff19");
const isCheckX = (c) => c === "X" || c === "x" || c === "\uff38" || c === "\uff58";

// What the masking takes for a separator inside a number (mask::separator): what the
// identifier parser drops (ID_SEPARATOR), and the full-width `－` it folds into `-` first.
const isSeparator = (c) => c === "\uff0d" || ID_SEPARATOR.test(c);

// Punctuation that may join the groups of a person's number (mask::punctuation): such groups
// are one number only when they hold exactly 15 or 18 characters. The full-width `／`, `．`
// and `，` join as `/`, `.` and `,` do; the ideographic `、` and `。` do not.
const PUNCTUATION = new Set(["/", ".", ",", "\uff0f", "\uff0e", "\uff0c"]);
const isPunctuation = (c) => PUNCTUATION.has(c);
const isLooseSeparator = (c) => isSeparator(c) || isPunctuation(c);

/** Full-width digits and X as ASCII (trust::privacy::half_width); other characters as they are. */
function halfWidth(c) {
  if (c >= "\uff10" && c <= "\uff19") return String.fromCharCode(c.charCodeAt(0) - 0xfee0);
  return c === "\uff38" || c === "\uff58" ? "X" : c;
}

/** First 6 and last 4 characters of a number kept, every character between them a `*`. */
function maskRun(chars) {
  return chars.slice(0, 6).join("") + "*".repeat(chars.length - 10) + chars.slice(-4).join("");
}

/**
 * A whole field that is a person's number, masked, or null (trust::privacy::mask_input): once
 * the separators are dropped, 14 or more digits, the last of 18 or more may be X; written
 * with ASCII digits.
 */
function maskWhole(chars) {
  const compact = chars.filter((c) => !isSeparator(c)).map(halfWidth);
  const n = compact.length;
  const personal = n >= 14 &&
    compact.every((c, i) => (c >= "0" && c <= "9") || (i === n - 1 && n >= 18 && (c === "X" || c === "x")));
  return personal ? maskRun(compact) : null;
}

/** Whether 17 digits and a letter (ASCII or full-width digits) are a valid credit code. */
function validUscc(chars) {
  const n = normalizeId(chars.join(""));
  return n.code !== undefined && n.code.length === 18 && usccProblem(n.code, false) === "";
}

/**
 * Whether 8 digits (ASCII or full-width) are a date YYYYMMDD of 1900–2099, its day 01 to 31
 * whatever the month (trust::privacy::compact_date).
 */
function compactDate(chars) {
  const d = chars.map(halfWidth).join("");
  const month = Number(d.slice(4, 6));
  const day = Number(d.slice(6, 8));
  return d.length === 8 && (d.startsWith("19") || d.startsWith("20")) &&
    month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

/**
 * Masks people's numbers in caller text as the server does (trust::privacy::mask_numbers). A
 * text that is a number as a whole (maskWhole: typed in groups, `410102 19680412 0211`, or
 * split by dashes) is masked whole, in ASCII. Inside longer text, a number keeps its first 6
 * and last 4 digits and every digit between becomes `*` (full-width digits stay full-width,
 * separators stay where they were), and a number is:
 * - a run of 14 or more digits, whatever is next to it (an X right after 17 digits belongs to
 *   it), except 17 digits and a capital letter that make a valid credit code;
 * - or groups of 3 to 13 digits with only separators between them, 14 or more digits in all,
 *   a group of 4 or more among them, not only 8-digit dates (YYYYMMDD). A group of 1 or 2
 *   digits, or a run of 14 or more, ends it; the short group belongs to it when the groups
 *   before hold 14 digits (a card's last digits), and an X right after its 17th digit too.
 *   So `110101 19900307 123X` and `6222 0212 3456 7890 12` are masked, and
 *   `2019-01-01 - 2020-12-31`, `123 456 789 012 345` and `20190101-20191231` are not;
 * - or the same groups read across `/`, `.` and `,` (or `／`, `．` and `，`) too, when punctuation joins them and
 *   they hold exactly 15 characters or 18 (an X counted): `410102/196804120211` is masked,
 *   `1,234,567.89`, `2026.11.30` and `2026/11/30` are not. Groups that hold more are read
 *   part by part (the parts between the punctuation): from the first on, the longest
 *   stretch of parts that holds 15 or 18 is masked, so `410102/196804120211,2019` keeps
 *   only its 2019. The numbers found without the punctuation in the other parts are masked
 *   as found.
 */
function maskNumbers(text) {
  const s = text === null || text === undefined ? "" : String(text);
  if (s.length < 14) return s;
  const chars = [...s];
  const whole = maskWhole(chars);
  if (whole !== null) return whole;
  // The numbers to mask, in order: [start, end, digits] over `chars` (an X counted).
  const spans = [];
  // While the groups read across punctuation (`loose`) are undecided, the numbers found in
  // them without it.
  let held = null;
  const emit = (span) => (held ? held.push(span) : spans.push(span));
  // With an X right after its 17th digit counted in: [end, digits].
  const withCheckX = (g) => (g.digits === 17 && g.end < chars.length && isCheckX(chars[g.end])
    ? [g.end + 1, 18] : [g.end, g.digits]);
  // The number in groups being read: { start, end, digits, wide, dates }; and, when the text
  // holds punctuation, the same read across it.
  const punctuated = chars.some(isPunctuation);
  let grouped = null;
  let loose = null;
  const finish = () => {
    const g = grouped;
    grouped = null;
    if (!g || g.digits < 14 || !g.wide || g.dates) return;
    const [end, digits] = withCheckX(g);
    emit([g.start, end, digits]);
  };
  // The groups read across punctuation are decided part by part (mask::Loose::finish): from
  // the first part on, the longest stretch of two or more parts that holds 15 or 18
  // characters, a group of 4 among them and not only dates, is masked whole, and the search
  // goes on after it; the numbers found without punctuation in the other parts are masked as
  // found.
  const finishLoose = () => {
    const parts = loose ? loose.parts : [];
    const found = held || [];
    loose = null;
    held = null;
    const whole = [];
    for (let i = 0; i < parts.length;) {
      let { digits, wide, dates } = parts[i];
      let best = null;
      for (let j = i + 1; j < parts.length; j++) {
        digits += parts[j].digits;
        if (digits > 18) break;
        wide ||= parts[j].wide;
        dates &&= parts[j].dates;
        const [end, len] = withCheckX({ end: parts[j].end, digits });
        if ((len === 15 || len === 18) && wide && !dates) best = [j, end, len];
      }
      if (best) {
        whole.push([parts[i].start, best[1], best[2]]);
        i = best[0] + 1;
      } else {
        i++;
      }
    }
    const inside = (at) => whole.some(([start, end]) => start <= at && at < end);
    spans.push(...[...found.filter(([start]) => !inside(start)), ...whole].sort((a, b) => a[0] - b[0]));
  };
  const looseDigits = () => loose.parts.reduce((n, p) => n + p.digits, 0);
  // The part a run after `previous` joins, or null when punctuation starts a new one.
  const lastPart = (start) => {
    const last = loose.parts[loose.parts.length - 1];
    return chars.slice(last.end, start).some(isPunctuation) ? null : last;
  };
  const push = (g, end, len, date) => {
    g.end = end;
    g.digits += len;
    g.wide ||= len >= 4;
    g.dates &&= date;
  };
  let previous = -1; // where the previous run of digits ended
  for (let start = 0; start < chars.length;) {
    if (!isDigit(chars[start])) {
      start++;
      continue;
    }
    let end = start;
    while (end < chars.length && isDigit(chars[end])) end++;
    const len = end - start;
    const between = previous >= 0 ? chars.slice(previous, start) : null;
    const joined = between !== null && between.every(isSeparator);
    const looselyJoined = punctuated && between !== null && between.every(isLooseSeparator);
    previous = end;
    if (!joined) finish();
    if (!looselyJoined) finishLoose();
    if (len >= 14) {
      finish();
      finishLoose();
      if (len === 17 && end < chars.length && isCheckX(chars[end])) {
        spans.push([start, end + 1, 18]);
      } else if (!(len === 17 && end < chars.length && /[A-Z]/.test(chars[end]) &&
          validUscc(chars.slice(start, end + 1)))) {
        spans.push([start, end, len]);
      }
    } else if (len <= 2) {
      if (grouped && grouped.digits >= 14) {
        grouped.end = end;
        grouped.digits += len;
      }
      finish();
      if (loose && looseDigits() >= 14) {
        const part = lastPart(start);
        if (part) {
          part.end = end;
          part.digits += len;
        } else {
          // Neutral for "a group of 4" and "only dates", as in the part before.
          loose.parts.push({ start, end, digits: len, wide: false, dates: true });
        }
      }
      finishLoose();
    } else {
      const date = len === 8 && compactDate(chars.slice(start, end));
      if (grouped) push(grouped, end, len, date);
      else grouped = { start, end, digits: len, wide: len >= 4, dates: date };
      if (punctuated) {
        const part = { start, end, digits: len, wide: len >= 4, dates: date };
        if (!loose) {
          loose = { parts: [part] };
          held = [];
        } else {
          const last = lastPart(start);
          if (last) push(last, end, len, date);
          else loose.parts.push(part);
        }
      }
    }
    start = end;
  }
  finish();
  finishLoose();
  if (!spans.length) return s;
  let out = "";
  let copied = 0;
  for (const [start, end, digits] of spans) {
    out += chars.slice(copied, start).join("");
    let i = 0;
    for (const c of chars.slice(start, end)) {
      if (isLooseSeparator(c)) {
        out += c;
      } else {
        out += i < 6 || i >= digits - 4 ? c : "*";
        i++;
      }
    }
    copied = end;
  }
  return out + chars.slice(copied).join("");
}

// ---------------------------------------------------------------------------------------
// Batch. A CSV file is read here (UTF-8, else GB18030 as Excel writes it on Chinese Windows),
// cut into records as the server cuts a body, and sent to /v1/screen as UTF-8 CSV in parts of
// PART_ROWS rows, each part with the header line; the answers are read as NDJSON and joined
// in order, each row numbered by its place in the file. Parts keep a batch of any size from
// deadlocking: Chromium sends a whole request body before it reads the answer, while the
// server answers as it reads and stops reading while its answer is not taken, so one body of
// some 200,000 rows never finished. An .xlsx workbook is sent as it is: the server reads a
// workbook whole before it answers (a zip archive cannot be streamed), so it cannot deadlock.
//
// The table and the download are the same screening: each row's CSV line is made when its
// answer arrives and kept with the parameters, file name and layout that were screened, so
// changing the form afterwards changes nothing in the results shown or downloaded.

const XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
/** Rows per request. A test may set `data-part-rows` on the batch form to use fewer. */
const PART_ROWS = 5000;
const PREVIEW_ROWS = 200;
const RESULT_COLUMNS = ["decision", "heightened", "nonconforming", "lists", "measures", "error"];

async function readCsv(file) {
  const bytes = await file.arrayBuffer();
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (_) {
    return new TextDecoder("gb18030").decode(bytes);
  }
}

/** A CSV field quoted as the server quotes it: when it holds a comma, a quote, CR or LF. */
function csvCell(text) {
  return /[",\r\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
}

/**
 * A cell of the download as the server writes a cell of its CSV answer
 * (batch::render::csv_field): one a spreadsheet would take for a formula (its first character
 * `=`, `+`, `-`, `@`, tab or CR, or the full-width `＝`, `＋`, `－` or `＠` that some
 * spreadsheets read as those; batch::render::formula_like) with a `'` before it, then quoted
 * as csvCell quotes it. Not for what the page sends: the server reads the cells as they are.
 */
function csvOutCell(text) {
  return csvCell(/^[=+\-@\t\r\uff1d\uff0b\uff0d\uff20]/.test(text) ? "'" + text : text);
}

/**
 * The records of CSV text as the server cuts a body into them (src/server/split.rs): at each
 * line feed outside double quotes, a CR before it dropped, blank records skipped (the server
 * does not number them either).
 */
function csvRecords(text) {
  const out = [];
  const push = (rec) => {
    if (/^[ \t\n\f\r]*$/.test(rec)) return;
    out.push(rec.endsWith("\r") ? rec.slice(0, -1) : rec);
  };
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) quoted = !quoted;
    else if (c === 10 && !quoted) {
      push(text.slice(start, i));
      start = i + 1;
    }
  }
  push(text.slice(start));
  return out;
}

/** The fields of one CSV record (RFC 4180: quotes, doubled quotes), or null when malformed. */
function csvFields(rec) {
  const fields = [];
  let i = 0;
  for (;;) {
    if (rec[i] === '"') {
      let s = "";
      i++;
      for (;;) {
        const j = rec.indexOf('"', i);
        if (j < 0) return null; // a quoted field is not closed
        s += rec.slice(i, j);
        if (rec[j + 1] === '"') {
          s += '"';
          i = j + 2;
        } else {
          i = j + 1;
          break;
        }
      }
      if (i < rec.length && rec[i] !== ",") return null; // text follows a closing quote
      fields.push(s);
    } else {
      const j = rec.indexOf(",", i);
      const end = j < 0 ? rec.length : j;
      fields.push(rec.slice(i, end));
      i = end;
    }
    if (i >= rec.length) return fields;
    i++;
    if (i === rec.length) {
      fields.push("");
      return fields;
    }
  }
}

/**
 * Header names that mark the code column, most specific first: a copy of the server's
 * batch::input::ID_COLUMNS (a test in src/server/web.rs compares the two). Names compare
 * trimmed and in lower case.
 */
const ID_COLUMNS = ["统一社会信用代码", "社会信用代码", "信用代码", "uscc", "credit_code", "身份证号码", "身份证号", "公民身份号码", "证件号码", "证件号", "subject_id", "id"];

function headerName(name) {
  return name.trim().toLowerCase();
}

/**
 * Whether a field looks like an identifier: 15 to 18 letters or digits, at least 6 of them
 * digits, once spaces and hyphens are dropped and full-width forms folded.
 */
function looksLikeId(field) {
  const n = normalizeId(field);
  return n.code !== undefined && n.code.length >= 15 && n.code.length <= 18 && n.code.replace(/[^0-9]/g, "").length >= 6;
}

/**
 * The server's rule for a first row (batch::input::is_header_row): a header when a field is
 * a known code column name or when no field looks like an identifier; otherwise it is data.
 */
function isHeaderRow(fields) {
  return fields.some((f) => ID_COLUMNS.includes(headerName(f))) || !fields.some(looksLikeId);
}

/**
 * The server's code column of a header (batch::input::id_column): the one named `id`, else
 * the one with the most specific known name, else the first.
 */
function idColumn(names) {
  const norm = names.map(headerName);
  for (const name of ["id", ...ID_COLUMNS]) {
    const i = norm.indexOf(name);
    if (i >= 0) return i;
  }
  return 0;
}

/**
 * A CSV list laid out for the server: `names` (the header's names, or `id, column2, …` when
 * the first row is data), `idCol` (the server's choice: `id`, else the most specific known
 * code column name, else the first), the `records` of data and the header line each part is sent with. That
 * line names the code column `id` and so is a header by any rule, whatever the first row
 * was; the names the clerk gave are kept for the download.
 */
function csvLayout(text) {
  const records = csvRecords(text.replace(/^\ufeff/, ""));
  if (!records.length) return null;
  const first = csvFields(records[0]) || [records[0]];
  let names;
  let idCol;
  let data;
  if (isHeaderRow(first)) {
    names = first.map((f) => f.trim());
    idCol = idColumn(names);
    data = records.slice(1);
  } else {
    names = first.map((_, i) => (i === 0 ? "id" : `column${i + 1}`));
    idCol = 0;
    data = records;
  }
  const sentHeader = names.map((n, i) => csvCell(i === idCol ? "id" : n)).join(",");
  return { names, idCol, records: data, sentHeader };
}

// ---------------------------------------------------------------------------------------
// A workbook's header. The server screens a workbook's first worksheet and echoes each row's
// cells by column name without the code column, so its answers alone do not say where that
// column stood. The page reads the sheet's first row that is not blank itself, as the server
// does (batch::input::xlsx_to_csv), and lays the download out by it: the workbook's columns in
// its order and under its names, as a CSV list's download has them. Only that row and the
// shared strings before the last it uses are inflated; the rest of the archive is not read.


/** The entries of a zip archive by lower-case name (the server's reader ignores case): method, size, offset. */
function zipEntries(bytes) {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let end = -1;
  for (let i = bytes.length - 22; i >= 0 && i >= bytes.length - 22 - 0xffff; i--) {
    if (v.getUint32(i, true) === 0x06054b50) {
      end = i;
      break;
    }
  }
  if (end < 0) return null;
  const entries = new Map();
  const utf8 = new TextDecoder();
  let at = v.getUint32(end + 16, true);
  for (let n = v.getUint16(end + 10, true); n > 0; n--) {
    if (at + 46 > bytes.length || v.getUint32(at, true) !== 0x02014b50) return null;
    const nameLength = v.getUint16(at + 28, true);
    const name = utf8.decode(bytes.subarray(at + 46, at + 46 + nameLength));
    entries.set(name.replace(/\\/g, "/").toLowerCase(), {
      method: v.getUint16(at + 10, true),
      size: v.getUint32(at + 20, true),
      offset: v.getUint32(at + 42, true),
    });
    at += 46 + nameLength + v.getUint16(at + 30, true) + v.getUint16(at + 32, true);
  }
  return entries;
}

/**
 * The text of a zip entry, read piece by piece as it is inflated: `more()` appends the next
 * piece to `text` and is false at the end. Null when the entry is missing or packed by a
 * method other than store or deflate.
 */
function zipText(bytes, entries, name) {
  const e = entries.get(name.toLowerCase());
  if (!e || (e.method !== 0 && e.method !== 8) || e.offset + 30 > bytes.length) return null;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const start = e.offset + 30 + v.getUint16(e.offset + 26, true) + v.getUint16(e.offset + 28, true);
  let stream = new Blob([bytes.subarray(start, start + e.size)]).stream();
  if (e.method === 8) stream = stream.pipeThrough(new DecompressionStream("deflate-raw"));
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  const feed = {
    text: "",
    done: false,
    async more() {
      if (feed.done) return false;
      const { value, done } = await reader.read();
      if (done) feed.done = true;
      else feed.text += value;
      return !done;
    },
    close: () => reader.cancel().catch(() => {}),
  };
  return feed;
}

/** The whole text of a zip entry, or null. */
async function zipWhole(bytes, entries, name) {
  const feed = zipText(bytes, entries, name);
  if (!feed) return null;
  while (await feed.more());
  return feed.text;
}

/** XML character data with its entity and character references replaced. */
function xmlText(s) {
  const named = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };
  return s.replace(/&(?:#x([0-9a-f]+)|#([0-9]+)|([a-z]+));/gi, (m, hex, dec, name) =>
    hex ? String.fromCodePoint(parseInt(hex, 16)) : dec ? String.fromCodePoint(Number(dec)) : named[name] ?? m);
}

/** An attribute's value in a start tag, or null. */
function xmlAttr(tag, name) {
  const m = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`).exec(tag);
  return m ? xmlText(m[1] ?? m[2]) : null;
}

/** The text of a string item (`<si>`, `<is>`): its `<t>` runs, phonetic guides (`<rPh>`) left out. */
function richText(xml) {
  const runs = xml.replace(/<(\w+:)?rPh\b[\s\S]*?<\/\1?rPh>/g, "").matchAll(/<(\w+:)?t(?:\s[^>]*)?>([\s\S]*?)<\/\1?t>/g);
  return [...runs].map((m) => xmlText(m[2])).join("");
}

/** A column's number from a cell reference such as "AB12" (A is 0), or null. */
function columnIndex(ref) {
  const m = /^([A-Z]+)[0-9]*$/i.exec(ref || "");
  if (!m) return null;
  let n = 0;
  for (const c of m[1].toUpperCase()) n = n * 26 + c.charCodeAt(0) - 64;
  return n - 1;
}

/**
 * A number cell as the server writes it (batch::input::cell_text): a whole number in digits
 * (an identifier typed as a number keeps them), anything else as the number reads.
 */
function numberText(v) {
  const f = Number(v);
  if (v.trim() === "" || Number.isNaN(f)) return v;
  return Number.isInteger(f) && Math.abs(f) < 1e17 ? f.toFixed(0) : String(f);
}

/**
 * The cells of the first row of a worksheet (`feed`) that holds something, gaps filled with
 * empty cells, as text; shared strings are looked up in `shared` (an async function of the
 * index). Null when the sheet has no such row.
 */
async function firstSheetRow(feed, shared) {
  const rows = /<(\w+:)?row\b[^>]*?(?:\/>|>([\s\S]*?)<\/\1?row>)/g;
  for (;;) {
    const m = rows.exec(feed.text);
    if (!m) {
      if (/<\/(\w+:)?sheetData>/.test(feed.text.slice(rows.lastIndex)) || !(await feed.more())) return null;
      continue;
    }
    const cells = [];
    let col = 0;
    for (const c of (m[2] || "").matchAll(/<(\w+:)?c\b([^>]*?)(?:\/>|>([\s\S]*?)<\/\1?c>)/g)) {
      const tag = c[2];
      const body = c[3] || "";
      col = columnIndex(xmlAttr(tag, "r")) ?? col;
      const type = xmlAttr(tag, "t");
      const value = /<(\w+:)?v\b[^>]*>([\s\S]*?)<\/\1?v>/.exec(body);
      const v = value ? xmlText(value[2]) : "";
      let text;
      if (/<(\w+:)?is\b/.test(body)) text = richText(body);
      else if (type === "s") text = value ? await shared(Number(v)) : "";
      else if (type === "b") text = value ? (v !== "0" ? "TRUE" : "FALSE") : "";
      else if (type === "str" || type === "d" || type === "e" || type === "inlineStr") text = v;
      else text = numberText(v);
      while (cells.length < col) cells.push("");
      cells[col] = text;
      col++;
    }
    if (cells.some((c) => c.trim() !== "")) return cells;
    // Forget the rows passed, so a sheet of blank rows does not pile up.
    feed.text = feed.text.slice(rows.lastIndex);
    rows.lastIndex = 0;
  }
}

/**
 * How the server lays out a workbook (`bytes`) it screens: `names`, the first worksheet's
 * column names (its first row that is not blank, or `id, column2, …` when that row is data),
 * and `idCol`, the code column; null when the page cannot read the workbook (the server then
 * says why, or the download falls back to the order of the answers).
 */
async function workbookLayout(bytes) {
  const entries = zipEntries(bytes);
  if (!entries) return null;
  const book = await zipWhole(bytes, entries, "xl/workbook.xml");
  const rels = await zipWhole(bytes, entries, "xl/_rels/workbook.xml.rels");
  const sheetTag = book && /<(?:\w+:)?sheet\b[^>]*>/.exec(book);
  const rid = sheetTag && (xmlAttr(sheetTag[0], "r:id") ?? xmlAttr(sheetTag[0], "relationships:id"));
  if (!rid || !rels) return null;
  const rel = [...rels.matchAll(/<(?:\w+:)?Relationship\b[^>]*>/g)].find((r) => xmlAttr(r[0], "Id") === rid);
  const target = rel && xmlAttr(rel[0], "Target");
  if (!target) return null;
  // Where the server finds a sheet: a target under xl/ as it is, else relative to xl/.
  const path = target.startsWith("/xl/") ? target.slice(1) : target.startsWith("xl/") ? target : `xl/${target}`;
  const sheet = zipText(bytes, entries, path);
  if (!sheet) return null;
  // The shared strings are read as far as the row needs them, each item once.
  const strings = [];
  const items = /<(\w+:)?si\b[^>]*?(?:\/>|>([\s\S]*?)<\/\1?si>)/g;
  let sharedFeed;
  const shared = async (i) => {
    sharedFeed ??= zipText(bytes, entries, "xl/sharedStrings.xml");
    while (sharedFeed && strings.length <= i) {
      const at = items.lastIndex;
      const m = items.exec(sharedFeed.text);
      if (m) {
        strings.push(richText(m[2] || ""));
      } else {
        // The next item is not all there yet: keep only it, and read on.
        sharedFeed.text = sharedFeed.text.slice(at);
        if (!(await sharedFeed.more())) break;
      }
    }
    return strings[i] ?? "";
  };
  let cells;
  try {
    cells = await firstSheetRow(sheet, shared);
  } finally {
    sheet.close();
    if (sharedFeed) sharedFeed.close();
  }
  if (!cells) return null;
  // The server's rules for a first row, the same as for a CSV list's (isHeaderRow, idColumn).
  if (isHeaderRow(cells)) return { names: cells.map((c) => c.trim()), idCol: idColumn(cells) };
  return { names: cells.map((_, i) => (i === 0 ? "id" : `column${i + 1}`)), idCol: 0 };
}

/**
 * The entries of a row's `columns` object in the order the server wrote them, which is the
 * order of the input's columns. JSON.parse keeps neither that order (an integer-like key such
 * as "2025" comes first) nor both of two columns of one name. `line` is the row's NDJSON line,
 * whose last member is `columns` (no string can hold `"columns":{`: its quotes would be
 * escaped). Null when the object holds anything but strings, which a workbook's never does.
 */
function orderedColumns(line) {
  const at = line.indexOf('"columns":{');
  if (at < 0) return null;
  const out = [];
  const entry = /\s*("(?:[^"\\]|\\.)*")\s*:\s*("(?:[^"\\]|\\.)*")\s*([,}])/y;
  entry.lastIndex = at + '"columns":{'.length;
  if (/^\s*\}/.test(line.slice(entry.lastIndex))) return out;
  for (;;) {
    const m = entry.exec(line);
    if (!m) return null;
    out.push([JSON.parse(m[1]), JSON.parse(m[2])]);
    if (m[3] === "}") return out;
  }
}

function batchParams() {
  const p = new URLSearchParams({ scenario: $("batch-scenario").value });
  if ($("batch-as-of").value) p.set("as_of", $("batch-as-of").value);
  if ($("batch-lenient").checked) p.set("lenient", "1");
  return p;
}

/** What to show of a row's code: a recognised organisation code as it is, anything else masked. */
function shownInput(r) {
  if (r.id && r.id_type === "uscc") return r.id;
  return maskNumbers(r.id && r.id_type === "ric" ? r.id : r.input || "");
}

/** The code cell of the download: the server's echo of the input, masked unless an organisation's. */
function inputCell(r) {
  return r.id_type === "uscc" ? r.input || "" : maskNumbers(r.input || "");
}

/** The six result cells of a row, as the server writes them in a CSV answer. */
function resultCells(r) {
  return [
    r.decision || "",
    String(Boolean(r.heightened)),
    String(Boolean(r.nonconforming)),
    (r.lists || []).join(";"),
    (r.measures || []).join(";"),
    r.error ? maskNumbers(`${r.error.code}: ${r.error.message}`) : "",
  ].map(csvOutCell).join(",");
}

/**
 * A screening in progress or done: what was sent (file, parameters, layout) and what came
 * back (counts, the first rows for the table, one CSV line per row for the download).
 */
class Screening {
  /**
   * `layout` is a CSV list's (`csvLayout`), null for a workbook; `book` a workbook's
   * (`workbookLayout`), null for a CSV list or a workbook the page could not read.
   */
  constructor(file, params, layout, book = null) {
    this.fileName = file.name;
    this.baseName = file.name.replace(/\.[^.]*$/, "");
    this.params = params;
    this.lenient = params.get("lenient") === "1";
    this.layout = layout;
    this.book = book;
    this.total = layout ? layout.records.length : null;
    this.done = 0;
    this.counts = { deny: 0, review: 0, fast_track: 0, clear: 0, invalid: 0 };
    this.preview = [];
    this.lines = [];
    this.broken = null;
  }

  /** Takes one answered row, parsed from its NDJSON `line`; `offset` is the number of rows before its part. */
  add(r, offset, line) {
    const row = offset + r.row;
    this.done++;
    if (r.decision) this.counts[r.decision] = (this.counts[r.decision] || 0) + 1;
    else this.counts.invalid++;
    if (this.preview.length < PREVIEW_ROWS) this.preview.push({ ...r, row });
    let inputs;
    if (this.layout) {
      // Exactly the header's columns, as the server's CSV answer has them: a short row
      // padded, cells past the header not echoed; an unparsable row as one cell.
      const { names, idCol, records } = this.layout;
      const fields = csvFields(records[row - 1]);
      inputs = names.map((_, i) => {
        if (!fields) return i === 0 ? maskNumbers(records[row - 1]) : "";
        if (i === idCol) return inputCell(r);
        return maskNumbers(fields[i] ?? "");
      });
    } else {
      // A workbook's row: the echoed cells in their order, the code column put back in its
      // place, as many cells as the header has (a short row padded). Without the workbook's
      // header the code column goes first and the first row's echo names the others.
      const echoed = orderedColumns(line) ?? Object.entries(r.columns || {});
      this.book ??= { names: ["id", ...echoed.map(([k]) => k)], idCol: 0 };
      const { names, idCol } = this.book;
      inputs = names.map((_, i) => (i === idCol ? inputCell(r) : maskNumbers(echoed[i < idCol ? i : i - 1]?.[1] ?? "")));
    }
    this.lines.push(`${row},${inputs.map(csvOutCell).join(",")},${resultCells(r)}\n`);
  }

  headerLine() {
    const names = (this.layout || this.book || { names: ["id"] }).names;
    return ["row", ...names.map((n) => maskNumbers(n)), ...RESULT_COLUMNS].map(csvOutCell).join(",") + "\n";
  }

  /** The parameters in words, for the results' heading. */
  describe() {
    const scenario = (SCENARIOS.find(([c]) => c === this.params.get("scenario")) || [null, this.params.get("scenario")])[1];
    const parts = [`办理事项：${scenario}`, `核查日期：${this.params.get("as_of") || "当日"}`];
    if (this.lenient) parts.push("接受非标准代码");
    return parts.join("；");
  }
}

/** An API error answer that stops a screening. */
class ScreenFailure extends Error {
  constructor(err) {
    super(err.message);
    this.err = err;
  }
}

/**
 * Sends one body to /v1/screen and feeds its NDJSON answer to `screening` line by line as it
 * arrives; `offset` is the number of rows before this part. Returns false when the answer
 * ended with an error line instead of rows.
 */
async function screenPart(screening, body, type, offset, signal, onProgress) {
  const resp = await api("/v1/screen?" + screening.params, {
    method: "POST",
    headers: { "Content-Type": type, Accept: "application/x-ndjson" },
    body,
    signal,
  });
  if (!resp.ok) throw new ScreenFailure(await apiError(resp));
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  let pending = "";
  const take = (line) => {
    if (!line.trim()) return true;
    const v = JSON.parse(line);
    if (v.summary) return true;
    if (v.error && v.row === undefined) {
      screening.broken = v.error;
      return false;
    }
    screening.add(v, offset, line);
    return true;
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    const lines = (pending + value).split("\n");
    pending = lines.pop();
    for (const line of lines) {
      if (!take(line)) {
        reader.cancel().catch(() => {});
        return false;
      }
    }
    onProgress();
  }
  return take(pending);
}

let runningBatch = null; // the AbortController of the screening in progress

function setBatchRunning(controller) {
  runningBatch = controller;
  $("batch-btn").disabled = Boolean(controller);
  $("batch-progress").hidden = !controller;
  $("batch-result").toggleAttribute("aria-busy", Boolean(controller));
}

function showProgress(screening) {
  const bar = $("batch-progress-bar");
  const text = $("batch-progress-text");
  if (screening.total === null) {
    bar.removeAttribute("value");
    text.textContent = `正在筛查 ${maskNumbers(screening.fileName)}：已完成 ${screening.done} 行`;
  } else {
    bar.max = Math.max(screening.total, 1);
    bar.value = screening.done;
    text.textContent = `正在筛查 ${maskNumbers(screening.fileName)}：已完成 ${screening.done} / ${screening.total} 行`;
  }
}

async function runBatch() {
  if (runningBatch) return;
  const out = $("batch-result");
  const file = $("batch-file").files[0];
  if (!file) {
    out.replaceChildren(errorBox({ code: "no_file", message: "请先选择 CSV 或 Excel（.xlsx）文件。" }));
    $("batch-file").focus();
    return;
  }
  const controller = new AbortController();
  const params = batchParams();
  const form = $("batch-form");
  const partRows = Number(form.dataset.partRows) > 0 ? Number(form.dataset.partRows) : PART_ROWS;
  out.replaceChildren();
  setBatchRunning(controller);
  let screening = null;
  try {
    if (/\.xlsx$/i.test(file.name) || file.type === XLSX_TYPE) {
      const bytes = await file.arrayBuffer();
      const book = await workbookLayout(new Uint8Array(bytes)).catch(() => null);
      screening = new Screening(file, params, null, book);
      showProgress(screening);
      await screenPart(screening, bytes, XLSX_TYPE, 0, controller.signal, () => showProgress(screening));
    } else {
      const layout = csvLayout(await readCsv(file));
      if (!layout || !layout.records.length) {
        out.replaceChildren(errorBox({ code: "bad_body", message: "文件中没有要筛查的数据行。" }));
        return;
      }
      screening = new Screening(file, params, layout);
      showProgress(screening);
      for (let at = 0; at < layout.records.length; at += partRows) {
        const part = layout.records.slice(at, at + partRows);
        const body = layout.sentHeader + "\n" + part.join("\n") + "\n";
        const whole = await screenPart(screening, body, "text/csv; charset=utf-8", at, controller.signal,
          () => showProgress(screening));
        showProgress(screening);
        if (!whole) break;
      }
    }
    out.replaceChildren(batchView(screening));
  } catch (e) {
    if (e.name === "AbortError") {
      const done = screening ? screening.done : 0;
      const of = screening && screening.total !== null ? ` / ${screening.total}` : "";
      out.replaceChildren(el("p", "placeholder cancelled", `已取消筛查（已完成 ${done}${of} 行），结果未保留。`));
    } else if (e instanceof ScreenFailure) {
      out.replaceChildren(errorBox(e.err));
    } else {
      out.replaceChildren(errorBox({ code: "network", message: "筛查失败：" + e.message }));
    }
  } finally {
    setBatchRunning(null);
  }
}

function cancelBatch() {
  if (runningBatch) runningBatch.abort();
}

/** A row's error in Chinese, from the server's error first. */
function rowError(r, lenient) {
  const e = r.error;
  if (e.code === "missing_id") return "缺少代码";
  if (e.code === "invalid_row") return "此行格式有误：" + maskNumbers(e.message);
  if (e.expected_check) return `校验位（第 18 位）应为 ${e.expected_check}`;
  // The page's own check says in Chinese what is wrong, but only of the code as it was
  // typed: a masked input (410184*******4169) has lost the characters it would judge.
  // Masking keeps the length, so a wrong length can still be told.
  const input = r.input || "";
  if (e.code === "invalid_id" && !input.includes("*")) {
    const j = judgeId(input, lenient, todayLocal());
    if (j.state === "error") return j.text;
    if (j.state === "partial") return `代码只有 ${normalizeId(input).code.length} 位，应为 18 位`;
  } else if (e.code === "invalid_id") {
    const n = [...input].filter((c) => !isSeparator(c)).length;
    if (n > 18) return `长度 ${n} 位，多于 18 位`;
    if (n !== 15 && n < 18) return `代码只有 ${n} 位，应为 18 位`;
  }
  return `${ERROR_LABELS[e.code] || "代码无效"}：${maskNumbers(e.message)}`;
}

/** A caveat when the date asked about is before the data's history begins, else null. */
function historyCaveat(asOf) {
  if (!SNAPSHOT.historyFrom || !asOf || asOf >= SNAPSHOT.historyFrom) return null;
  return `核查日期 ${asOf} 早于名单数据的起始日期 ${SNAPSHOT.historyFrom}：此前的记录不在数据中，` +
    "“未发现限制”不能说明当时没有限制，请以当时的名单为准。";
}

function batchView(screening) {
  const box = el("div", "batch-view");
  if (screening.broken) {
    box.append(errorBox(screening.broken));
    box.append(el("p", "hint", `筛查在第 ${screening.done} 行后中断，以下仅为已完成的部分。`));
  }
  const c = screening.counts;
  const s = el("dl", "summary");
  s.id = "batch-summary";
  const item = (k, v, cls) => s.append(el("div", "sum " + (cls || ""), el("dt", null, k), el("dd", null, v)));
  item("总行数", screening.done);
  item("禁止", c.deny, "sum-deny");
  item("审慎审核", c.review, "sum-review");
  item("守信激励", c.fast_track, "sum-fast_track");
  item("未发现限制", c.clear, "sum-clear");
  item("代码无效", c.invalid, "sum-invalid");
  box.append(el("h2", null, `${maskNumbers(screening.fileName)}：共 ${screening.done} 行`));
  box.append(el("p", "batch-params", screening.describe()));
  const caveat = historyCaveat(screening.params.get("as_of"));
  if (caveat) box.append(el("p", "note note-history", caveat));
  box.append(s);
  const dl = el("button", "primary", "下载结果（CSV）");
  dl.type = "button";
  dl.id = "batch-download";
  dl.addEventListener("click", () => downloadCsv(screening));
  box.append(el("p", "actions", dl));

  // The first two echoed columns (a name, usually) help the clerk find a row again.
  const rows = screening.preview;
  const extra = rows.length ? Object.keys(rows[0].columns || {}).slice(0, 2) : [];
  const table = el("table", "rows");
  const head = el("tr", null, ...["行", "代码", ...extra.map(maskNumbers), "结论", "名单", "说明"].map((h) => el("th", null, h)));
  table.append(el("thead", null, head));
  const body = el("tbody");
  for (const r of rows) {
    const outcome = r.decision ? OUTCOMES[r.decision].title : "代码无效";
    const note = r.error
      ? rowError(r, screening.lenient)
      : [r.heightened ? "加重惩戒" : "", r.nonconforming ? "非标准代码" : ""].filter(Boolean).join("、");
    const detail = el("td", "detail", note);
    if (r.error) detail.title = maskNumbers(`${r.error.code}: ${r.error.message}`);
    const tr = el("tr", "row-" + (r.decision || "invalid"),
      el("td", "num", r.row),
      el("td", "mono", shownInput(r)),
      ...extra.map((k) => el("td", null, maskNumbers((r.columns || {})[k] ?? ""))),
      el("td", "outcome", outcome),
      el("td", null, r.lists.map((code) => LIST_NAMES[code] || code).join("、")),
      detail);
    body.append(tr);
  }
  table.append(body);
  box.append(el("div", "table-wrap", table));
  if (screening.done > PREVIEW_ROWS) box.append(el("p", "hint", `仅显示前 ${PREVIEW_ROWS} 行；完整结果请下载。`));
  return box;
}

/** Saves the rows of `screening` as CSV: the answers shown, not a new screening. */
function downloadCsv(screening) {
  // A BOM lets Excel on Chinese Windows open the UTF-8 file with the right encoding.
  const blob = new Blob(["\ufeff", screening.headerLine(), screening.lines.join("")], { type: "text/csv;charset=utf-8" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `${maskNumbers(screening.baseName) || "screen"}-结果.csv`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

// ---------------------------------------------------------------------------------------

/** List names by code, from /v1/snapshot, for the batch table. */
const LIST_NAMES = {};
/** What the page needs of /v1/snapshot besides: the first day the data covers. */
const SNAPSHOT = { historyFrom: null };

async function showSnapshot() {
  const p = $("snapshot");
  try {
    const resp = await api("/v1/snapshot");
    if (resp.status === 401 || resp.status === 403) {
      p.textContent = errorLabel(await apiError(resp));
      p.className = "snapshot snapshot-down";
      return;
    }
    if (!resp.ok) {
      p.textContent = "名单数据未加载，暂不能核查";
      p.className = "snapshot snapshot-down";
      return;
    }
    p.className = "snapshot";
    const s = await resp.json();
    for (const l of s.lists) LIST_NAMES[l.code] = l.name;
    SNAPSHOT.historyFrom = s.history_from || null;
    p.textContent = `名单数据：${s.built_on} 版（${s.counts.subjects} 个主体，${s.counts.records} 条记录）`;
  } catch (_) {
    p.textContent = "无法连接服务";
    p.className = "snapshot snapshot-down";
  }
}

function init() {
  const today = todayLocal();
  fillScenarios($("scenario"), "licensing");
  fillScenarios($("batch-scenario"), "procurement");
  $("as-of").value = today;
  $("batch-as-of").value = today;
  setupToken();
  setupTabs();
  setupSearch();
  $("code").addEventListener("input", showCodeJudgement);
  $("lenient").addEventListener("change", showCodeJudgement);
  $("check-form").addEventListener("submit", (e) => {
    e.preventDefault();
    runCheck();
  });
  $("batch-form").addEventListener("submit", (e) => {
    e.preventDefault();
    runBatch();
  });
  $("batch-cancel").addEventListener("click", cancelBatch);
  showSnapshot();
}

document.addEventListener("DOMContentLoaded", init);
