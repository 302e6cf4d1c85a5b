// Browser tests of 数据标准 (the data-standard catalogue) against a running server with the demo district.
//   BASE_URL=http://127.0.0.1:8000 node --test e2e/standards.test.mjs
// The admin test adds a version to 检验记录 and publishes it; on a fresh demo database that is version 2.0,
// on a reused one the next number — the test reads the history first.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { api, input, launch, loginOk, openPage, sel, shot } from './helpers.mjs'

let browser

before(async () => {
  browser = await launch()
})
after(async () => {
  await browser?.close()
})

async function openLabRecord(page) {
  await page.locator(sel('menu-standards')).click()
  await page.locator(`${sel('std-dataset-table')} .el-table__row`).first().waitFor()
  await page.locator(sel('std-dataset-name'), { hasText: /^检验记录$/ }).click()
  await page.waitForURL(/\/standards\/datasets\/EMR-LAB/)
  await page.locator(sel('std-detail-name'), { hasText: '检验记录' }).waitFor()
  await page.locator(`${sel('std-field-table')} .el-table__row`).first().waitFor()
}

// Element Plus puts data-test on the native <textarea> (or on its wrapper, depending on the version).
function editorBox(page) {
  return page.locator(`textarea${sel('std-editor-json')}, ${sel('std-editor-json')} textarea`).first()
}

async function editorJson(page) {
  const text = await editorBox(page).inputValue()
  return JSON.parse(text)
}

async function setEditorJson(page, spec) {
  await editorBox(page).fill(JSON.stringify(spec, null, 2))
}

describe('district administrator', () => {
  let page
  before(async () => {
    page = await openPage(browser)
    await loginOk(page, 'admin')
  })
  after(async () => {
    await page.context().close()
  })

  test('catalogue lists the data sets and exports Excel', async () => {
    await page.locator(sel('menu-standards')).click()
    const rows = page.locator(`${sel('std-dataset-table')} .el-table__row`)
    await rows.first().waitFor()
    assert.ok((await rows.count()) >= 12)
    assert.equal(await page.locator(sel('std-readonly')).count(), 0)
    await shot(page, 'standards-01-list')
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator(sel('std-export')).click()])
    assert.match(download.suggestedFilename(), /\.xlsx$/)
  })

  test('检验记录 shows its fields and rules', async () => {
    await openLabRecord(page)
    const fields = await page.locator(sel('std-field-table')).innerText()
    for (const text of ['patient_name', '姓名', 'DE02.01.039.00', 'Patient.name[0].text', 'Observation.code.coding[0]']) {
      assert.ok(fields.includes(text), text)
    }
    await shot(page, 'standards-02-fields')
    await page.locator(sel('std-field-domain'), { hasText: '生理性别代码' }).first().click()
    await page.locator(`${sel('std-domain-values')}`).getByText('男性').waitFor()
    await page.keyboard.press('Escape')
    await page.locator(sel('std-tab-rules')).click()
    const rules = page.locator(`${sel('std-rule-table')} .el-table__row`)
    await rules.first().waitFor()
    assert.ok((await rules.count()) >= 15)
    assert.ok((await page.locator(sel('std-rule-table')).innerText()).includes('检验报告时间早于标本采样时间'))
    await shot(page, 'standards-03-rules')
  })

  test('an invalid version is refused with the server’s Chinese problems', async () => {
    await page.locator(sel('std-new-version')).click()
    await editorBox(page).waitFor()
    const spec = await editorJson(page)
    spec.fields.push({ name: 'mystery', element: 'DE99.99.999.99' })
    await setEditorJson(page, spec)
    await page.locator(sel('std-editor-save')).click()
    const problems = page.locator(sel('std-editor-errors'))
    await problems.waitFor()
    assert.match(await problems.innerText(), /数据元 DE99\.99\.999\.99 不存在/)
    await shot(page, 'standards-04-invalid')
    await page.locator(sel('std-editor-cancel')).click()
    await editorBox(page).waitFor({ state: 'hidden' })
  })

  test('new version with an extra rule, publish, version listed as current', async () => {
    const before = await api(page, '/api/v1/standards/datasets/EMR-LAB/versions')
    const expected = `${Math.max(...before.map((v) => v.revision)) + 1}.0`

    await page.locator(sel('std-new-version')).click()
    await editorBox(page).waitFor()
    const spec = await editorJson(page)
    const ruleId = `lab.e2e_glu_${Date.now()}`
    spec.rules.push({
      id: ruleId, type: 'range', dimension: 'logic', severity: 'warning',
      message: '血糖结果超出0.5–50mmol/L，请核实', params: { field: 'value', min: 0.5, max: 50 },
    })
    await setEditorJson(page, spec)
    await page.locator(sel('std-editor-save')).click()
    await page.waitForURL(new RegExp(`version=${expected.replace('.', '\\.')}`))
    await page.locator(sel('std-detail-version'), { hasText: expected }).waitFor()
    assert.match(await page.locator(sel('std-detail-status')).innerText(), /草稿/)

    const draftRow = page.locator(`${sel('std-version-table')} .el-table__row`, { hasText: expected })
    await draftRow.locator(sel('std-version-publish')).click()
    await page.locator('.el-message-box .el-button--primary').click()
    await page.waitForURL((url) => !url.search.includes('version='))
    await page.locator(sel('std-detail-status'), { hasText: '已发布' }).waitFor()
    assert.equal(await page.locator(sel('std-detail-version')).innerText(), expected)

    await page.locator(sel('std-tab-versions')).click()
    const table = page.locator(sel('std-version-table'))
    await table.locator('.el-table__row', { hasText: expected }).locator(sel('std-version-status'), { hasText: '已发布' }).waitFor()
    assert.ok((await table.innerText()).includes('已停用'))
    await shot(page, 'standards-05-versions')

    await page.locator(sel('std-tab-rules')).click()
    await page.locator(`${sel('std-rule-table')}`).getByText(ruleId).waitFor()
    const current = await api(page, '/api/v1/standards/datasets/EMR-LAB')
    assert.equal(current.version, expected)
    assert.ok(current.rules.some((r) => r.id === ruleId))
  })

  test('elements and value domains can be browsed', async () => {
    await page.locator(sel('menu-standards')).click()
    await page.locator(sel('std-switch-elements')).click()
    await page.locator(`${sel('std-element-table')} .el-table__row`).first().waitFor()
    await input(page, 'std-element-q').fill('收缩压')
    await page.locator(sel('std-element-search')).click()
    await page.locator(sel('std-element-table')).getByText('DE04.10.174.00').waitFor()
    await shot(page, 'standards-06-elements')
    await page.locator(sel('std-tab-domains')).click()
    await page.locator(sel('std-domain-name'), { hasText: 'ICD-10' }).first().click()
    await page.locator(sel('std-domain-values')).getByText('原发性高血压').waitFor()
    await shot(page, 'standards-07-domain')
  })
})

describe('doctor', () => {
  test('sees the catalogue read-only', async () => {
    const page = await openPage(browser)
    await loginOk(page, 'doctor')
    await openLabRecord(page)
    assert.equal(await page.locator(sel('std-new-version')).count(), 0)
    assert.equal(await page.locator(sel('std-publish-shown')).count(), 0)
    await page.locator(sel('std-tab-versions')).click()
    await page.locator(`${sel('std-version-table')} .el-table__row`).first().waitFor()
    assert.equal(await page.locator(sel('std-version-publish')).count(), 0)
    await page.locator(sel('menu-standards')).click()
    await page.locator(sel('std-readonly')).waitFor()
    assert.equal(await page.locator(sel('std-create-dataset')).count(), 0)
    await shot(page, 'standards-08-doctor')
    await page.context().close()
  })
})
