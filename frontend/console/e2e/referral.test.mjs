// Browser test of 双向转诊: the community family doctor (JC-C001) refers a signed resident up to 江川区中心医院,
// the hospital doctor accepts, books a slot, sees the patient and completes with a down-referral, and the family
// doctor finds the follow-up task.
//   BASE_URL=http://127.0.0.1:8000 node --test e2e/referral.test.mjs
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { BASE_URL, input, launch, loginOk, openPage, sel, shot, signedResident } from './helpers.mjs'

let browser

before(async () => {
  browser = await launch()
})
after(async () => {
  await browser?.close()
})

describe('双向转诊', () => {
  test('up-referral, accept, schedule, complete with down-referral, follow-up task', async () => {
    const patient = await signedResident()
    const family = await openPage(browser)
    await loginOk(family, 'family_doctor')
    await family.goto(`${BASE_URL}/ui/referral/new`)
    await input(family, 'referral-id-number').fill(patient.idNumber)
    await family.locator(sel('referral-lookup')).click()
    await family.locator(sel('referral-patient')).waitFor()
    await family.locator(sel('referral-target')).first().click()
    await family.keyboard.type('中心医院')
    await family.locator('.el-select-dropdown__item:visible', { hasText: '江川区中心医院' }).first().click()
    await family.locator(`textarea${sel('referral-reason')}, ${sel('referral-reason')} textarea`).first().fill('血压控制不佳，需上级医院调整用药')
    await input(family, 'referral-dx-code').fill('I10')
    await input(family, 'referral-dx-text').fill('原发性高血压')
    await shot(family, 'referral-new')
    await family.locator(sel('referral-submit')).click()
    await family.locator(sel('page-referral-detail')).waitFor()
    await family.locator(sel('referral-detail-status'), { hasText: '待接收' }).waitFor()
    const referralUrl = family.url()
    const referralId = referralUrl.split('/').pop()
    assert.match(referralId, /^[0-9a-f-]{36}$/)

    const doctor = await openPage(browser)
    await loginOk(doctor, 'doctor')
    await doctor.goto(`${BASE_URL}/ui/referral`)
    await doctor.locator(sel('referral-table')).waitFor()
    await doctor.locator(`${sel('referral-table')} tr`, { hasText: '血压控制不佳' }).first().click()
    await doctor.locator(sel('page-referral-detail')).waitFor()
    await doctor.locator(sel('referral-action-accept')).click()
    await doctor.locator(sel('referral-detail-status'), { hasText: '已接收' }).waitFor()

    await doctor.locator(sel('referral-action-schedule')).click()
    const when = doctor.locator('.el-dialog:visible .el-date-editor input').first()
    await when.fill('2026-12-01 09:30:00')
    await when.press('Enter')
    await input(doctor, 'referral-schedule-place').fill('心血管内科专家门诊 3 诊室')
    await doctor.locator(sel('referral-schedule-confirm')).click()
    await doctor.locator(sel('referral-detail-status'), { hasText: '已预约' }).waitFor()
    await doctor.locator(sel('referral-appointment'), { hasText: '2026/12/01 09:30' }).waitFor()

    await doctor.locator(sel('referral-action-arrive')).click()
    await doctor.locator(sel('referral-detail-status'), { hasText: '已到诊' }).waitFor()
    await doctor.locator(sel('referral-action-complete')).click()
    await doctor.locator(`textarea${sel('referral-outcome')}, ${sel('referral-outcome')} textarea`).first().fill('调整为氨氯地平 5mg qd，血压达标')
    await doctor.locator(`textarea${sel('referral-down-plan')}, ${sel('referral-down-plan')} textarea`).first().fill('每周测血压两次，两周后社区随访')
    await doctor.locator(sel('referral-complete-confirm')).click()
    await doctor.locator(sel('referral-detail-status'), { hasText: '已完成' }).waitFor()
    const steps = await doctor.locator(`${sel('referral-timeline')} .el-timeline-item`).count()
    assert.equal(steps, 6) // created, submitted, accepted, scheduled, arrived, completed
    await shot(doctor, 'referral-detail-completed')

    await family.goto(`${BASE_URL}/ui/referral`)
    await family.locator(sel('referral-tabs')).getByText('下转随访任务').click()
    // This referral's task (an earlier run, or another test, may have left tasks for the same resident).
    const task = family.locator(`${sel('followup-table')} tr`, { hasText: '每周测血压两次' }).first()
    await task.waitFor()
    assert.match(await task.innerText(), /下转患者随访/)
    await shot(family, 'referral-followups')
    await family.context().close()
    await doctor.context().close()
  })
})
