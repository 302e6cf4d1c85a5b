// Browser tests of registry editing: a district administrator creates a community health station under a
// centre, edits its phone, and finds both changes in the 变更记录 tab and the station in the FHIR store.
//   BASE_URL=http://127.0.0.1:8000 node --test e2e/registry.test.mjs
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { api, choose, input, launch, loginOk, openPage, sel, shot } from './helpers.mjs'

const ORG_CODE_SYSTEM = 'https://jizuo.example.org/fhir/sid/org-code'
// Codes are stable and never reused: each run creates its own station.
const CODE = `E2E-S${Date.now().toString(36).toUpperCase()}`
const NAME = `江川区端到端测试社区卫生服务站${CODE.slice(-4)}`

let browser

before(async () => {
  browser = await launch()
})
after(async () => {
  await browser?.close()
})

/** Type into a remote-search select (OrgSelect) and pick the first option containing `text`. */
async function pickRemote(page, name, query, text) {
  await page.locator(sel(name)).first().click()
  await input(page, name).fill(query)
  const option = page.locator('.el-select-dropdown__item:visible', { hasText: text }).first()
  await option.waitFor()
  await option.click()
}

const historyRows = (page) =>
  page.locator(`${sel('history-table')} > .el-table__inner-wrapper > .el-table__body-wrapper .el-table__row`)

describe('district administrator edits the registry', () => {
  let page
  before(async () => {
    page = await openPage(browser)
    await loginOk(page, 'admin')
  })
  after(async () => {
    await page.context().close()
  })

  test('creates a community health station under a centre', async () => {
    await page.locator(sel('menu-organizations')).click()
    await page.locator(`${sel('org-table')} .el-table__row`).first().waitFor()
    const centre = (await api(page, '/api/v1/organizations?type=community_centre&page_size=1')).items[0]

    await page.locator(sel('org-create')).click()
    const dialog = page.locator(sel('org-form-dialog'))
    await dialog.waitFor()
    // Client-side validation first: nothing filled in, nothing sent.
    await page.locator(sel('org-form-submit')).click()
    await dialog.getByText('请输入名称').waitFor()

    await input(page, 'org-form-code').fill(CODE)
    await input(page, 'org-form-name').fill(NAME)
    await input(page, 'org-form-short-name').fill('测试站')
    await choose(page, 'org-form-type', '社区卫生服务站') // the level follows: 社区卫生服务站
    await pickRemote(page, 'org-form-parent', centre.name, centre.name)
    await input(page, 'org-form-phone').fill('021-60001111')
    await input(page, 'org-form-address').fill('申江市江川区测试路88号')
    await shot(page, 'registry-01-create')
    await page.locator(sel('org-form-submit')).click()
    await dialog.waitFor({ state: 'hidden' })

    await input(page, 'org-filter-q').fill(CODE)
    await page.locator(sel('org-search')).click()
    const row = page.locator(sel('org-row-name'), { hasText: NAME })
    await row.waitFor()
    await row.click()
    await page.locator(sel('org-detail-basic')).waitFor()
    assert.equal(await page.locator(sel('org-detail-name')).innerText(), NAME)
    assert.match(await page.locator(sel('org-detail-basic')).innerText(), new RegExp(centre.name))
  })

  test('a wrong value comes back as the server’s Chinese field error', async () => {
    await page.locator(sel('org-detail-edit')).click()
    await page.locator(sel('org-form-dialog')).waitFor()
    await input(page, 'org-form-uscc').fill('12310199000000000X') // 18 characters, wrong check character
    await page.locator(sel('org-form-submit')).click()
    await page.locator(sel('org-form-dialog')).getByText('统一社会信用代码无效').first().waitFor()
    await input(page, 'org-form-uscc').fill('')
  })

  test('edits its phone, and the change history shows both changes', async () => {
    await input(page, 'org-form-phone').fill('021-60002222')
    await page.locator(sel('org-form-submit')).click()
    await page.locator(sel('org-form-dialog')).waitFor({ state: 'hidden' })
    await page.locator(sel('org-detail-basic')).getByText('021-60002222').waitFor()

    await page.locator(sel('org-tab-history')).click()
    const rows = historyRows(page)
    await page.waitForFunction(
      () =>
        document.querySelectorAll(
          '[data-test="history-table"] > .el-table__inner-wrapper > .el-table__body-wrapper .el-table__row',
        ).length === 2,
    )
    assert.equal(await rows.count(), 2)
    const actions = await page.locator(`${sel('history-table')} ${sel('history-action')}`).allInnerTexts()
    assert.deepEqual(actions, ['修改', '新建'])
    await rows.first().locator('.el-table__expand-icon').click()
    const diff = page.locator(sel('history-diff')).first()
    await diff.getByText('021-60001111').waitFor()
    await diff.getByText('021-60002222').waitFor()
    await shot(page, 'registry-02-history')
  })

  test('the station is in the FHIR store under its code', async () => {
    const query = encodeURIComponent(`${ORG_CODE_SYSTEM}|${CODE}`)
    const bundle = await api(page, `/fhir/Organization?identifier=${query}`)
    const found = (bundle.entry ?? []).filter((e) => e.search.mode === 'match').map((e) => e.resource)
    assert.equal(found.length, 1)
    assert.equal(found[0].name, NAME)
    assert.equal(found[0].telecom[0].value, '021-60002222')
    assert.ok(found[0].partOf.reference.startsWith('Organization/'))
  })
})

describe('staff and team members', () => {
  let page
  before(async () => {
    page = await openPage(browser)
    await loginOk(page, 'admin')
    await page.locator(sel('menu-practitioners')).click()
    await page.locator(`${sel('practitioner-table')} .el-table__row`).first().waitFor()
  })
  after(async () => {
    await page.context().close()
  })

  test('adds a practitioner, then edits them', async () => {
    const staffCode = `E2E${Date.now().toString(36).toUpperCase()}`
    const staffName = `测试医生${staffCode.slice(-3)}`
    const hospital = (await api(page, '/api/v1/organizations?q=JC-H001')).items[0]
    await page.locator(sel('practitioner-create')).click()
    const dialog = page.locator(sel('practitioner-form-dialog'))
    await dialog.waitFor()
    await input(page, 'practitioner-form-code').fill(staffCode)
    await input(page, 'practitioner-form-name').fill(staffName)
    await dialog.getByText('女', { exact: true }).click()
    await input(page, 'practitioner-form-id-number').fill('310199199001011234') // wrong check digit
    await pickRemote(page, 'practitioner-form-org', hospital.name, hospital.name)
    await choose(page, 'practitioner-form-role', '医生')
    await page.locator(sel('practitioner-form-submit')).click()
    await dialog.getByText('身份证号码校验位错误').waitFor() // the server's reason, under the field
    await input(page, 'practitioner-form-id-number').fill('')
    await page.locator(sel('practitioner-form-submit')).click()
    await dialog.waitFor({ state: 'hidden' })

    await input(page, 'staff-filter-q').fill(staffCode)
    await input(page, 'staff-filter-q').press('Enter')
    await page.locator(sel('practitioner-name'), { hasText: staffName }).waitFor()
    await page.waitForFunction(() => document.querySelectorAll('[data-test="practitioner-edit"]').length === 1)
    await page.locator(sel('practitioner-edit')).first().click()
    await dialog.waitFor()
    await page.waitForFunction(
      () => document.querySelector('[data-test="practitioner-form-code"] input, input[data-test="practitioner-form-code"]')?.value !== '',
    )
    await input(page, 'practitioner-form-title').fill('主治医师')
    await page.locator(sel('practitioner-form-submit')).click()
    await dialog.waitFor({ state: 'hidden' })
    await page.locator(sel('practitioner-table')).getByText('主治医师').waitFor()
    const history = await api(page, `/api/v1/registry/changes?entity_type=practitioner&organization_id=${hospital.id}`)
    assert.deepEqual(history.items.slice(0, 2).map((c) => c.action), ['update', 'create'])
  })

  test('adds and removes a team member', async () => {
    await page.locator(sel('tab-teams')).click()
    await page.locator(sel('team-edit-members')).first().click()
    const dialog = page.locator(sel('team-members-dialog'))
    await dialog.waitFor()
    const rows = dialog.locator(`${sel('team-members-edit')} .el-table__row`)
    await rows.first().waitFor()
    const before = await rows.count()
    const members = (await rows.locator('td:first-child').allInnerTexts()).map((n) => n.trim())
    await page.locator(sel('team-member-person')).first().click()
    const options = page.locator('.el-select-dropdown__item:visible')
    await options.first().waitFor()
    let picked = ''
    for (const option of await options.all()) {
      const name = (await option.locator('span').first().innerText()).trim()
      if (!members.includes(name)) {
        picked = name
        await option.click()
        break
      }
    }
    assert.ok(picked, 'someone who is not yet a member')
    await choose(page, 'team-member-role', '专科医生')
    await page.locator(sel('team-member-add')).click()
    await dialog.locator(`${sel('team-members-edit')} .el-table__row`, { hasText: picked }).waitFor()
    assert.equal(await rows.count(), before + 1)
    await dialog.locator(`${sel('team-members-edit')} .el-table__row`, { hasText: picked }).locator(sel('team-member-remove')).click()
    await page.locator('.el-message-box__btns .el-button--primary').click()
    await page.waitForFunction(
      (n) => document.querySelectorAll('[data-test="team-members-edit"] .el-table__row').length === n,
      before,
    )
    await shot(page, 'registry-03-team-members')
  })
})

describe('institution administrator', () => {
  test('may edit only their own institution', async () => {
    const page = await openPage(browser)
    await loginOk(page, 'hosp_admin')
    await page.locator(sel('menu-organizations')).click()
    await page.locator(`${sel('org-table')} .el-table__row`).first().waitFor()
    assert.equal(await page.locator(sel('org-create')).count(), 0)
    // One edit button: their own hospital's row (if it is on the first page, as JC-H001 is).
    await input(page, 'org-filter-q').fill('JC-H00')
    await page.locator(sel('org-search')).click()
    await page.waitForFunction(() => document.querySelectorAll('[data-test="org-table"] .el-table__row').length <= 10)
    await page.locator(sel('org-edit')).first().waitFor()
    assert.equal(await page.locator(sel('org-edit')).count(), 1)
    await page.locator(sel('org-edit')).click()
    await page.locator(sel('org-form-dialog')).getByText('机构管理员只能修改本机构的地址、电话和简称').waitFor()
    assert.equal(await input(page, 'org-form-name').isDisabled(), true)
    assert.equal(await input(page, 'org-form-phone').isDisabled(), false)
    await page.context().close()
  })
})
