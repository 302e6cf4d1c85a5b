"""Server-side pages of the sign-in service (zh-CN, plain HTML with inline CSS, no external assets)."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from starlette.responses import HTMLResponse

from jizuo.platform.sso.schemas import SCOPE_NAMES

PRODUCT = "基座 · 统一身份认证"
# The OAuth parameters a page carries from the application's request into its form.
CARRIED = ("response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "code_challenge",
           "code_challenge_method", "prompt", "max_age", "login_hint", "ui_locales", "response_mode")
LOGOUT_CARRIED = ("id_token_hint", "client_id", "post_logout_redirect_uri", "state", "logout_hint", "ui_locales")

# No scripts at all; `frame-ancestors` against click-jacking. No `form-action`: browsers apply it to the
# redirect that follows our form, which goes to the application's own address.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

_CSS = """
*{box-sizing:border-box}body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;
background:linear-gradient(135deg,#e8f1fb 0%,#f6f9fc 60%,#eef6f2 100%);color:#1f2d3d;
font:15px/1.6 -apple-system,"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif}
.card{width:100%;max-width:400px;margin:24px;background:#fff;border-radius:12px;padding:32px 32px 24px;
box-shadow:0 8px 30px rgba(31,45,61,.10)}
.brand{display:flex;align-items:center;gap:10px;margin-bottom:4px}
.logo{width:36px;height:36px;border-radius:8px;background:#1764c0;color:#fff;font-weight:700;font-size:18px;
display:flex;align-items:center;justify-content:center}
h1{font-size:19px;margin:0}.sub{color:#5a6b7b;margin:6px 0 22px;font-size:14px}.sub b{color:#1f2d3d}
label{display:block;font-size:14px;margin:14px 0 6px;color:#34495e}
input[type=text],input[type=password]{width:100%;padding:10px 12px;border:1px solid #c9d3dd;border-radius:6px;
font-size:15px}input:focus{outline:none;border-color:#1764c0;box-shadow:0 0 0 3px rgba(23,100,192,.15)}
button{width:100%;margin-top:22px;padding:11px;border:0;border-radius:6px;background:#1764c0;color:#fff;
font-size:16px;cursor:pointer}button:hover{background:#11539f}
button.secondary{background:#fff;color:#34495e;border:1px solid #c9d3dd;margin-top:10px}
.error{background:#fdecea;color:#a8231a;border:1px solid #f5c2bd;border-radius:6px;padding:9px 12px;
font-size:14px;margin-bottom:6px}
ul{padding-left:20px;margin:8px 0}.foot{margin-top:22px;color:#8a99a8;font-size:12px;text-align:center}
"""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{escape(title)} - {PRODUCT}</title><style>{_CSS}</style></head><body>"
            f'<main class="card"><div class="brand"><div class="logo">基</div><h1>{PRODUCT}</h1></div>'
            f'{body}<p class="foot">区域全民健康信息平台 · 请勿在公共电脑上保存密码</p></main></body></html>')
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def _hidden(params: Mapping[str, str], names: tuple[str, ...], csrf_token: str) -> str:
    fields = [f'<input type="hidden" name="{name}" value="{escape(params[name])}">'
              for name in names if params.get(name)]
    fields.append(f'<input type="hidden" name="csrf_token" value="{escape(csrf_token)}">')
    return "".join(fields)


def sign_in_page(client_name: str, params: Mapping[str, str], csrf_token: str, *, error: str | None = None,
                 username: str = "", status: int = 200) -> HTMLResponse:
    alert = f'<div class="error" role="alert">{escape(error)}</div>' if error else ""
    login = username or params.get("login_hint", "")
    body = (f'<p class="sub">登录后将返回 <b>{escape(client_name)}</b></p>{alert}'
            f'<form method="post" action="/oidc/authorize" autocomplete="on">'
            f'{_hidden(params, CARRIED, csrf_token)}<input type="hidden" name="action" value="login">'
            f'<label for="username">用户名</label>'
            f'<input type="text" id="username" name="username" value="{escape(login)}" maxlength="64" '
            f'autocomplete="username" required autofocus>'
            f'<label for="password">密码</label>'
            f'<input type="password" id="password" name="password" maxlength="128" '
            f'autocomplete="current-password" required>'
            f'<button type="submit">登 录</button></form>')
    return _page("登录", body, status)


def consent_page(client_name: str, user_name: str, scopes: list[str], params: Mapping[str, str],
                 csrf_token: str) -> HTMLResponse:
    items = "".join(f"<li>{escape(SCOPE_NAMES.get(s, s))}</li>" for s in scopes)
    body = (f'<p class="sub">您好，<b>{escape(user_name)}</b>。应用 <b>{escape(client_name)}</b> '
            f"申请使用您的以下信息：</p><ul>{items}</ul>"
            f'<form method="post" action="/oidc/authorize">{_hidden(params, CARRIED, csrf_token)}'
            f'<button type="submit" name="action" value="allow">同意并继续</button>'
            f'<button type="submit" name="action" value="deny" class="secondary">拒绝</button></form>')
    return _page("授权确认", body)


def error_page(message: str, status: int = 400) -> HTMLResponse:
    body = (f'<p class="sub">无法完成登录</p><div class="error" role="alert">{escape(message)}</div>'
            f"<p>请返回原应用重试；如问题持续，请联系区卫生健康信息中心。</p>")
    return _page("出错了", body, status)


def logout_confirm_page(client_name: str | None, user_name: str, params: Mapping[str, str],
                        csrf_token: str) -> HTMLResponse:
    source = f"应用 <b>{escape(client_name)}</b> 请求" if client_name else "是否"
    body = (f'<p class="sub">{source}退出统一身份认证（<b>{escape(user_name)}</b>）。'
            f"退出后，通过单点登录进入的所有应用都需要重新登录。</p>"
            f'<form method="post" action="/oidc/logout">{_hidden(params, LOGOUT_CARRIED, csrf_token)}'
            f'<button type="submit" name="action" value="logout">确认退出</button></form>')
    return _page("退出登录", body)


def logged_out_page() -> HTMLResponse:
    return _page("已退出", '<p class="sub">您已安全退出统一身份认证。可以关闭此页面。</p>')
