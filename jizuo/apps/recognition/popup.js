/* 基座 · 检查检验结果互认 — HIS 嵌入脚本 (embed snippet for HIS vendors).
 *
 *   <script src="https://<jizuo>/api/v1/recognition/popup.js"></script>
 *   JizuoRecognition.open({
 *     base: 'https://<jizuo>',          // where Jizuo runs
 *     checkId: response.check_id,       // from POST /api/v1/recognition/check (only when popup_url is set)
 *     token: accessToken,               // the doctor's (or the HIS's) bearer token
 *     onDecision: function (d) {},      // {promptId, item, decision, reason, note, report} per decided item
 *     onClose: function (summary) {},   // {decisions: [...]} when the doctor closes the dialog
 *   })
 *
 * The popup runs in an iframe (page /ui/recognition/popup); the token travels in the URL fragment, which is
 * never sent to a server. Decisions come back by window.postMessage, checked against the Jizuo origin.
 */
(function () {
  'use strict'
  var current = null

  function close(summary) {
    if (!current) return
    window.removeEventListener('message', current.listener)
    current.overlay.remove()
    var done = current.onClose
    current = null
    if (done) done(summary || { decisions: [] })
  }

  function open(options) {
    if (!options || !options.base || !options.checkId) throw new Error('JizuoRecognition.open: base and checkId required')
    close()
    var base = String(options.base).replace(/\/$/, '')
    var origin = new URL(base, window.location.href).origin
    var overlay = document.createElement('div')
    overlay.setAttribute('data-jizuo-recognition', '')
    overlay.style.cssText = 'position:fixed;inset:0;background:rgba(0,0,0,.35);z-index:2147483000;' +
      'display:flex;align-items:center;justify-content:center'
    var frame = document.createElement('iframe')
    frame.title = '检查检验结果互认'
    frame.style.cssText = 'width:min(960px,96vw);height:min(680px,92vh);border:0;border-radius:8px;background:#fff;' +
      'box-shadow:0 8px 32px rgba(0,0,0,.25)'
    var query = 'check=' + encodeURIComponent(options.checkId) + '&embed=1&origin=' +
      encodeURIComponent(window.location.origin)
    frame.src = base + '/ui/recognition/popup?' + query + (options.token ? '#token=' + encodeURIComponent(options.token) : '')
    overlay.appendChild(frame)
    var decisions = []
    var listener = function (event) {
      if (event.origin !== origin || !event.data || typeof event.data !== 'object') return
      if (event.data.type === 'jizuo-recognition-decision') {
        decisions.push(event.data.decision)
        if (options.onDecision) options.onDecision(event.data.decision)
      } else if (event.data.type === 'jizuo-recognition-close') {
        close({ decisions: decisions })
      }
    }
    window.addEventListener('message', listener)
    document.body.appendChild(overlay)
    current = { overlay: overlay, listener: listener, onClose: options.onClose }
    return { close: function () { close({ decisions: decisions }) } }
  }

  window.JizuoRecognition = { open: open, close: function () { close() } }
})()
