// Browser test of the 主索引 (master patient index) steward console against a running demo server.
//   BASE_URL=http://127.0.0.1:8000 node --test e2e/mpi.test.mjs
// The demo seed loads other institutions' registrations of the residents with a history and links them
// through the real matching path; a few are hard enough to wait in the review queue.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { BASE_URL, api, input, launch, loginOk, openPage, sel, shot } from './helpers.mjs'

let browser

before(async () => {
  browser = await launch()
})
after(async () => {
  await browser?.close()
})

/** Confirm the reason prompt (ElMessageBox.prompt) with this text. */
async function giveReason(page, reason) {
  const box = page.locator('.mpi-reason-box')
  await box.waitFor()
  await box.locator('input').fill(reason)
  await box.locator('.el-message-box__btns .el-button--primary').click()
  await box.waitFor({ state: 'hidden' })
}

describe('主索引 as the district administrator', () => {
  let page
  let decided // the review item decided in the first test
  before(async () => {
    page = await openPage(browser)
    await loginOk(page, 'admin')
  })
  after(async () => {
    await page.context().close()
  })

  test('the review queue lists demo duplicates; a decision takes an item off the queue', async () => {
    await page.locator(sel('menu-mpi')).click()
    await page.locator(sel('page-mpi-reviews')).waitFor()
    const queue = await api(page, '/api/v1/mpi/reviews?page_size=100')
    assert.ok(queue.total > 0, 'the demo seed leaves items for review')
    const rows = page.locator(`${sel('review-table')} .el-table__body-wrapper .el-table__row`)
    await rows.first().waitFor()
    assert.equal(await rows.count(), Math.min(queue.total, 20))
    await shot(page, 'mpi-01-review-queue')

    const first = queue.items[0]
    await page.locator(sel('review-open')).first().click()
    await page.locator(sel('page-mpi-review')).waitFor()
    await page.waitForURL(new RegExp(`/mpi/reviews/${first.id}$`))
    // side by side: six compared fields, each with its grade and the weight the API gave it
    const compare = page.locator(`${sel('review-compare')} .el-table__body-wrapper .el-table__row`)
    await compare.first().waitFor()
    assert.equal(await page.locator(sel('compare-agreement')).count(), 6)
    const weights = await page.locator(sel('compare-weight')).allInnerTexts()
    const expected = ['name', 'gender', 'birth', 'id_card', 'phone', 'address'].map((c) => first.agreement.comparisons[c].weight)
    assert.deepEqual(weights.map((w) => Number(w.replace('−', '-'))), expected.map((w) => Number(w.toFixed(2))))
    assert.equal(await page.locator(sel('compare-incoming')).first().innerText(), first.incoming.name)
    assert.equal(await page.locator(sel('compare-candidate')).first().innerText(), first.candidate.name)
    assert.match(await page.locator(sel('review-detail-score')).innerText(), /^\d+\.\d%$/)
    await shot(page, 'mpi-02-review-compare')

    // a decision needs a reason
    await page.locator(sel('review-link')).click()
    await page.locator(sel('review-note-error')).waitFor()
    await page.locator(`textarea${sel('review-note')}, ${sel('review-note')} textarea`).first().fill('姓名一字之差，出生日期与住址一致，系同一人')
    await page.locator(sel('review-link')).click()
    await page.locator(sel('page-mpi-reviews')).waitFor()
    await page.locator('.el-message--success').first().waitFor()
    const after = await api(page, '/api/v1/mpi/reviews?page_size=100')
    assert.equal(after.total, queue.total - 1)
    assert.ok(!after.items.some((r) => r.id === first.id), 'the decided item left the queue')
    const linked = await api(page, `/api/v1/mpi/patients/${first.source_patient_id}`)
    assert.equal(linked.person_id, first.candidate_person_id)
    assert.equal(linked.method, 'manual')
    decided = first
  })

  test('a decided item says who decided it and offers no buttons', async () => {
    await page.goto(`${BASE_URL}/ui/mpi/reviews/${decided.id}`)
    await page.locator(sel('page-mpi-review')).waitFor()
    // the item is decided: the page says so instead of offering the buttons
    await page.locator('.el-alert').filter({ hasText: '该审核已由 admin 处理' }).waitFor()
    assert.equal(await page.locator(sel('review-link')).count(), 0)
  })

  test('person lookup: unlink a record, then revert the unlink from the history', async () => {
    await page.locator(sel('menu-mpi')).click()
    await page.locator('#tab-persons').click()
    await page.locator(sel('page-mpi-persons')).waitFor()
    await input(page, 'person-search-q').fill(decided.source_patient_id)
    await page.locator(sel('person-search')).click()
    const result = page.locator(`${sel('person-results')} .el-table__body-wrapper .el-table__row`)
    await result.first().waitFor()
    assert.equal(await result.count(), 1)
    await page.locator(sel('person-open')).first().click()
    await page.locator(sel('page-mpi-person')).waitFor()
    await page.waitForURL(new RegExp(`/mpi/persons/${decided.candidate_person_id}$`))
    const records = page.locator(`${sel('person-records')} .el-table__body-wrapper .el-table__row`)
    await records.nth(1).waitFor()
    const before = await records.count()
    assert.ok(before >= 2)
    await page.locator(`${sel('person-events')} .el-table__row`).first().waitFor()
    await shot(page, 'mpi-03-person')

    // the record the review linked: unlink it again (with a reason)
    const row = records.filter({ hasText: decided.incoming.name })
    await row.locator(sel('record-unlink')).click()
    await giveReason(page, '核对后不是同一人')
    await page.locator('.el-message--success').filter({ hasText: '已解除关联' }).waitFor()
    await page.waitForFunction((n) => document.querySelectorAll('[data-test="person-records"] .el-table__body-wrapper .el-table__row').length === n, before - 1)
    const alone = await api(page, `/api/v1/mpi/patients/${decided.source_patient_id}`)
    assert.notEqual(alone.person_id, decided.candidate_person_id)

    // newest event first: the unlink; revert it and the record is back
    const newest = page.locator(`${sel('person-events')} .el-table__body-wrapper .el-table__row`).first()
    assert.equal(await newest.locator(sel('event-action')).innerText(), '解除关联')
    await newest.locator(sel('event-revert')).click()
    await giveReason(page, '误操作，恢复')
    await page.locator('.el-message--success').filter({ hasText: '已撤销事件' }).waitFor()
    await page.waitForFunction((n) => document.querySelectorAll('[data-test="person-records"] .el-table__body-wrapper .el-table__row').length === n, before)
    const back = await api(page, `/api/v1/mpi/patients/${decided.source_patient_id}`)
    assert.equal(back.person_id, decided.candidate_person_id)
    await page.locator(sel('event-reverted')).first().waitFor()
    await shot(page, 'mpi-04-person-reverted')

    // reverting it twice is refused, and the server's Chinese reason is shown
    const reverted = page.locator(`${sel('person-events')} .el-table__body-wrapper .el-table__row`).filter({ has: page.locator(sel('event-reverted')) }).first()
    assert.equal(await reverted.locator(sel('event-revert')).isDisabled(), true)
    const firstLink = page.locator(`${sel('person-events')} .el-table__body-wrapper .el-table__row`).last()
    await firstLink.locator(sel('event-revert')).click()
    await giveReason(page, '尝试撤销首次关联')
    const error = page.locator('.el-message--error').last()
    await error.waitFor()
    assert.match(await error.innerText(), /首次关联|之后这些记录又有变更/)
    await shot(page, 'mpi-05-refused')
  })
})

describe('主索引: split and merge back', () => {
  test('split a record off a person, then merge the new person back after comparing both', async () => {
    const page = await openPage(browser)
    await loginOk(page, 'admin')
    // a person with at least two records: the candidate person of a decided (linked) review
    const linked = await api(page, '/api/v1/mpi/reviews?status=linked&page_size=1')
    assert.ok(linked.total > 0, 'run after the review test: a linked review exists')
    const review = linked.items[0]
    const personId = (await api(page, `/api/v1/mpi/patients/${review.source_patient_id}`)).person_id
    await page.goto(`${BASE_URL}/ui/mpi/persons/${personId}`)
    await page.locator(sel('page-mpi-person')).waitFor()
    const rows = page.locator(`${sel('person-records')} .el-table__body-wrapper .el-table__row`)
    await rows.nth(1).waitFor()
    const before = await rows.count()

    const moving = rows.filter({ hasText: review.incoming.mrn })
    await moving.locator('.el-checkbox').click()
    await page.locator(sel('person-split')).click()
    await giveReason(page, '拆分核对')
    await page.locator('.el-message--success').filter({ hasText: '已拆分' }).waitFor()
    await page.waitForFunction((n) => document.querySelectorAll('[data-test="person-records"] .el-table__body-wrapper .el-table__row').length === n, before - 1)
    const other = (await api(page, `/api/v1/mpi/patients/${review.source_patient_id}`)).person_id
    assert.notEqual(other, personId)

    await page.locator(sel('person-merge')).click()
    const dialog = page.locator(sel('merge-dialog'))
    await input(page, 'merge-other-id').fill(other)
    await page.locator(sel('merge-lookup')).click()
    await dialog.locator(sel('golden-record')).nth(1).waitFor() // both golden records, side by side
    await shot(page, 'mpi-06-merge-dialog')
    await page.locator(`textarea${sel('merge-reason')}, ${sel('merge-reason')} textarea`).first().fill('确认为同一人，合并')
    await page.locator(sel('merge-confirm')).click()
    await page.locator('.el-message--success').filter({ hasText: '已合并' }).waitFor()
    await page.waitForFunction((n) => document.querySelectorAll('[data-test="person-records"] .el-table__body-wrapper .el-table__row').length === n, before)
    assert.equal((await api(page, `/api/v1/mpi/patients/${review.source_patient_id}`)).person_id, personId)
    assert.equal((await api(page, `/api/v1/mpi/persons/${other}`)).status, 'merged')
    await page.context().close()
  })
})

describe('主索引 for other roles', () => {
  test('a doctor has no 主索引 menu and the page is forbidden', async () => {
    const page = await openPage(browser)
    await loginOk(page, 'doctor')
    assert.equal(await page.locator(sel('menu-mpi')).count(), 0)
    await page.goto(`${BASE_URL}/ui/mpi/reviews`)
    await page.waitForURL(/\/forbidden$/)
    await page.context().close()
  })

  test('the institution administrator sees only duplicates among its own registrations', async () => {
    const page = await openPage(browser)
    await loginOk(page, 'hosp_admin')
    await page.locator(sel('menu-mpi')).click()
    await page.locator(sel('page-mpi-reviews')).waitFor()
    const queue = await api(page, '/api/v1/mpi/reviews?page_size=100')
    const me = await api(page, '/api/v1/auth/me')
    for (const item of queue.items) {
      assert.equal(item.incoming.institution_code, me.organization.code)
      assert.equal(item.candidate.institution_code, me.organization.code)
    }
    await page.context().close()
  })
})
