// Browser tests of the staff console against a running Jizuo server with the demo district.
//   BASE_URL=http://127.0.0.1:8000 node --test e2e/
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { BASE_URL, PASSWORD, api, choose, input, launch, login, loginOk, openPage, sel, shot } from './helpers.mjs'

let browser

before(async () => {
  browser = await launch()
})
after(async () => {
  await browser?.close()
})

describe('sign-in', () => {
  test('wrong password shows the server’s Chinese error', async () => {
    const page = await openPage(browser)
    await page.goto(`${BASE_URL}/ui/login`)
    await page.locator(sel('demo-accounts')).waitFor()
    await shot(page, '01-login')
    await login(page, 'admin', 'not-the-password')
    const error = page.locator(sel('login-error'))
    await error.waitFor()
    assert.match(await error.innerText(), /用户名或密码错误/)
    await shot(page, '02-login-error')
    await page.context().close()
  })
})

describe('district administrator', () => {
  let page
  before(async () => {
    page = await openPage(browser)
    await loginOk(page, 'admin')
  })
  after(async () => {
    await page.context().close()
  })

  test('header shows who is signed in', async () => {
    assert.equal(await page.locator(sel('user-display-name')).innerText(), '区平台管理员')
    assert.match(await page.locator(sel('user-role')).innerText(), /区级管理员/)
  })

  test('dashboard shows the district counts', async () => {
    const overview = await api(page, '/api/v1/stats/overview')
    const value = page.locator(`${sel('stat-organizations')} ${sel('stat-value')}`)
    await value.waitFor()
    assert.equal((await value.innerText()).replace(/,/g, ''), String(overview.organizations))
    const residents = await page.locator(`${sel('stat-residents')} ${sel('stat-value')}`).innerText()
    assert.equal(residents.replace(/,/g, ''), String(overview.residents))
    await page.locator(`${sel('level-chart')} canvas`).waitFor()
    await page.waitForTimeout(800) // bar animation
    await shot(page, '03-dashboard')
  })

  test('organizations: filter by level, open a detail page, tree view', async () => {
    await page.locator(sel('menu-organizations')).click()
    await page.locator(`${sel('org-table')} .el-table__row`).first().waitFor()
    await choose(page, 'org-filter-level', '三级甲等')
    await page.waitForURL(/level=3A/)
    await page.waitForFunction(() => {
      const cells = [...document.querySelectorAll('[data-test="org-table"] .el-table__row')]
      return cells.length > 0 && cells.every((r) => r.textContent.includes('三级甲等'))
    })
    await shot(page, '04-organizations')

    const first = page.locator(sel('org-row-name')).first()
    const name = await first.innerText()
    await first.click()
    await page.locator(sel('org-detail-basic')).waitFor()
    assert.equal(await page.locator(sel('org-detail-name')).innerText(), name)
    await page.locator(`${sel('practitioner-table')} .el-table__row`).first().waitFor()
    await shot(page, '05-organization-detail')

    await page.goBack()
    await page.locator(sel('org-tab-tree')).click()
    const tree = page.locator(sel('org-tree'))
    await tree.getByText('三级甲等').first().waitFor()
    assert.ok((await tree.locator(sel('tree-org')).count()) > 5)
    await shot(page, '06-organization-tree')
  })

  test('staff and teams', async () => {
    await page.locator(sel('menu-practitioners')).click()
    await page.locator(`${sel('practitioner-table')} .el-table__row`).first().waitFor()
    await shot(page, '07-practitioners')
    await page.locator(sel('tab-teams')).click()
    const rows = page.locator(`${sel('team-table')} > .el-table__inner-wrapper > .el-table__body-wrapper .el-table__row`)
    await rows.first().waitFor()
    await rows.first().locator('.el-table__expand-icon').click()
    await page.locator(`${sel('team-members')} .el-table__row`).first().waitFor()
    await shot(page, '08-teams')
  })

  test('residents list (district scope, masked identifiers)', async () => {
    await page.locator(sel('menu-residents')).click()
    await page.locator(`${sel('resident-table')} .el-table__row`).first().waitFor()
    assert.equal(await page.locator(sel('resident-scope-hint')).count(), 0)
    assert.match(await page.locator(sel('resident-table')).innerText(), /\*{4}/)
    await shot(page, '09-residents')
  })

  test('audit log has this session’s own login', async () => {
    await page.locator(sel('menu-audit')).click()
    await page.locator(`${sel('audit-table')} .el-table__row`).first().waitFor()
    await input(page, 'audit-filter-actor').fill('admin')
    await choose(page, 'audit-filter-action', '登录')
    await choose(page, 'audit-filter-outcome', '成功')
    // A Beijing-time range (sent as ISO 8601 with +08:00) that covers this session's sign-in.
    await page.locator(`${sel('audit-filter-range')} .el-date-editor`).click()
    await page.locator('.el-picker-panel__shortcut:visible', { hasText: '最近 1 小时' }).click()
    const row = page.locator(`${sel('audit-table')} .el-table__row`).first()
    await page.waitForFunction(() => {
      const r = document.querySelector('[data-test="audit-table"] .el-table__row')
      return r && r.textContent.includes('admin') && r.textContent.includes('登录') && r.textContent.includes('成功')
    })
    assert.match(await row.innerText(), /\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}/)
    await shot(page, '10-audit')
  })

  const username = `e2e${Date.now().toString(36)}`
  const newPassword = 'Jizuo@2026e2e'

  test('create a user and find it in the list', async () => {
    await page.locator(sel('menu-users')).click()
    await page.locator(`${sel('user-table')} .el-table__row`).first().waitFor()
    await shot(page, '11-users')
    await page.locator(sel('user-create')).click()
    const dialog = page.locator('.el-dialog:visible')
    await dialog.waitFor()
    await input(page, 'user-form-username').fill(username)
    await input(page, 'user-form-display-name').fill('测试医生')
    await input(page, 'user-form-password').fill(newPassword)
    await choose(page, 'user-form-role', '医生')
    await page.locator(`${sel('user-form-org')}`).click()
    await page.keyboard.type('中心医院')
    await page.locator('.el-select-dropdown__item:visible', { hasText: '江川区中心医院' }).first().click()
    await shot(page, '12-user-dialog')
    await page.locator(sel('user-form-submit')).click()
    await dialog.waitFor({ state: 'hidden' })
    await input(page, 'user-filter-q').fill(username)
    await page.locator(sel('user-search')).click()
    await page.waitForFunction(
      (u) => [...document.querySelectorAll('[data-test="user-row-username"]')].some((e) => e.textContent.trim() === u),
      username,
    )
  })

  test('a locked account shows the lock message and can be unlocked', async () => {
    const other = await openPage(browser)
    let message = ''
    for (let i = 0; i < 5; i++) {
      await login(other, username, 'Wrong@password1')
      await other.locator(sel('login-error')).waitFor()
      message = await other.locator(sel('login-error')).innerText()
    }
    assert.match(message, /锁定/)
    await login(other, username, newPassword)
    await other.waitForFunction(() => /已锁定/.test(document.querySelector('[data-test="login-error"]')?.textContent ?? ''))
    await shot(other, '17-login-locked')

    await page.locator(sel('user-search')).click()
    const locked = page.locator(sel('user-locked'))
    await locked.waitFor()
    await page.locator(sel('user-unlock')).click()
    await locked.waitFor({ state: 'detached' })
    await loginOk(other, username, newPassword)
    await other.context().close()
  })

  test('unknown page shows 404', async () => {
    await page.goto(`${BASE_URL}/ui/no-such-page`)
    await page.locator(sel('page-not-found')).waitFor()
    await shot(page, '13-not-found')
  })
})

describe('family doctor', () => {
  test('sees only the team’s residents and no user admin', async () => {
    const page = await openPage(browser)
    await loginOk(page, 'family_doctor')
    await page.locator(sel('menu-residents')).waitFor()
    assert.equal(await page.locator(sel('menu-users')).count(), 0)
    assert.equal(await page.locator(sel('menu-audit')).count(), 0)
    await page.locator(sel('menu-residents')).click()
    const hint = page.locator(sel('resident-scope-hint'))
    await hint.waitFor()
    assert.match(await hint.innerText(), /仅显示本团队签约居民/)
    await page.locator(`${sel('resident-table')} .el-table__row`).first().waitFor()
    await shot(page, '14-residents-family-doctor')
    // Typing the address of a page the role cannot use shows 403, not the page.
    await page.goto(`${BASE_URL}/ui/users`)
    await page.locator(sel('page-forbidden')).waitFor()
    await page.context().close()
  })
})

describe('institution administrator', () => {
  test('manages only the own institution’s accounts', async () => {
    const page = await openPage(browser)
    await loginOk(page, 'hosp_admin')
    const org = (await page.locator(sel('user-org')).innerText()).trim()
    await page.locator(sel('menu-users')).click()
    await page.locator(`${sel('user-table')} .el-table__row`).first().waitFor()
    const orgs = await page.locator(`${sel('user-table')} .el-table__body-wrapper .el-table__row td:nth-child(4)`).allInnerTexts()
    assert.ok(orgs.length > 0)
    for (const o of orgs) assert.equal(o.trim(), org)
    await page.locator(sel('user-create')).click()
    await page.locator('.el-dialog:visible').waitFor()
    assert.ok(await page.locator(`${sel('user-form-org')}.is-disabled, ${sel('user-form-org')} .is-disabled`).count())
    await shot(page, '16-users-institution-admin')
    await page.context().close()
  })
})

describe('session', () => {
  test('an expired access token is refreshed without bothering the user', async () => {
    const page = await openPage(browser)
    await loginOk(page, 'nurse')
    await page.evaluate(() => sessionStorage.setItem('jizuo.access_token', 'expired.or.revoked'))
    await page.reload()
    await page.locator(sel('page-dashboard')).waitFor()
    assert.equal(await page.locator(sel('user-display-name')).count(), 1)
    assert.notEqual(await page.evaluate(() => sessionStorage.getItem('jizuo.access_token')), 'expired.or.revoked')
    await page.context().close()
  })

  test('a dead session goes back to the sign-in page and signing out works', async () => {
    const page = await openPage(browser)
    await loginOk(page, 'doctor')
    await page.evaluate(() => {
      sessionStorage.setItem('jizuo.access_token', 'bad')
      sessionStorage.setItem('jizuo.refresh_token', 'also-bad-refresh-token')
    })
    await page.goto(`${BASE_URL}/ui/organizations`)
    await page.waitForURL(/\/ui\/login\?redirect=/)
    // Signing in again returns to the page that was asked for.
    await input(page, 'login-username').fill('doctor')
    await input(page, 'login-password').fill(PASSWORD)
    await page.locator(sel('login-submit')).click()
    await page.locator(sel('page-organizations')).waitFor()
    await page.locator(sel('logout')).click()
    await page.waitForURL(/\/ui\/login/)
    assert.equal(await page.evaluate(() => sessionStorage.getItem('jizuo.access_token')), null)
    await page.context().close()
  })
})

describe('language', () => {
  test('switching to English changes the menu and is remembered', async () => {
    const page = await openPage(browser)
    await loginOk(page, 'admin')
    assert.equal((await page.locator(sel('menu-organizations')).innerText()).trim(), '机构管理')
    await page.locator(sel('lang-switch')).click()
    await page.locator(`${sel('lang-en')}:visible`).click()
    await page.waitForFunction(() => document.querySelector('[data-test="menu-organizations"]')?.textContent?.includes('Organizations'))
    assert.equal((await page.locator(sel('menu-dashboard')).innerText()).trim(), 'Dashboard')
    await page.locator(`${sel('level-chart')} canvas`).waitFor()
    await page.waitForTimeout(800) // bar animation
    await shot(page, '15-dashboard-en')
    await page.reload()
    await page.locator(sel('page-dashboard')).waitFor()
    assert.equal((await page.locator(sel('menu-users')).innerText()).trim(), 'Users & Roles')
    await page.context().close()
  })
})
