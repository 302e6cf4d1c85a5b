// A real JavaScript FHIR client library (fhir-kit-client, as an HIS vendor's Node integration would use it)
// against the running server: create, search with _include, page by the `next` link, transaction with
// urn:uuid references, versioned update, and an OperationOutcome for a missing resource.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Client } from 'fhir-kit-client'
import { BASE_URL, apiToken } from './helpers.mjs'

test('fhir-kit-client: create, search with include, page, transaction, update, errors', async () => {
  const client = new Client({ baseUrl: `${BASE_URL}/fhir`, bearerToken: await apiToken('doctor') })
  const patient = await client.create({
    resourceType: 'Patient',
    body: { resourceType: 'Patient', name: [{ family: '钱', given: ['客户端'] }], gender: 'female', birthDate: '1980-01-02' },
  })
  assert.ok(patient.id)
  assert.equal(patient.meta.versionId, '1')
  for (const [day, value] of [[1, 121], [2, 135], [3, 128]]) {
    await client.create({
      resourceType: 'Observation',
      body: {
        resourceType: 'Observation', status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }], text: '收缩压' },
        subject: { reference: `Patient/${patient.id}` },
        effectiveDateTime: `2026-02-0${day}T08:00:00+08:00`,
        valueQuantity: { value, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
      },
    })
  }

  const first = await client.search({
    resourceType: 'Observation',
    searchParams: { subject: `Patient/${patient.id}`, _sort: '-date', _count: '2', _include: 'Observation:subject' },
  })
  const matches = (bundle) => bundle.entry.filter((e) => e.search.mode === 'match').map((e) => e.resource.valueQuantity.value)
  assert.deepEqual(matches(first), [128, 135])
  assert.ok(first.entry.some((e) => e.search.mode === 'include' && e.resource.id === patient.id))
  const second = await client.nextPage({ bundle: first })
  assert.deepEqual(matches(second), [121])

  const urn = 'urn:uuid:5f0c9e1a-3b7d-4c2e-9a61-2d8f4b7c1e90'
  const response = await client.transaction({
    body: {
      resourceType: 'Bundle', type: 'transaction',
      entry: [
        { fullUrl: urn, resource: { resourceType: 'Patient', name: [{ family: '孙' }] }, request: { method: 'POST', url: 'Patient' } },
        {
          resource: { resourceType: 'Observation', status: 'final', code: { text: '体重' }, subject: { reference: urn } },
          request: { method: 'POST', url: 'Observation' },
        },
      ],
    },
  })
  assert.equal(response.type, 'transaction-response')
  assert.deepEqual(response.entry.map((e) => e.response.status), ['201 Created', '201 Created'])
  const [newPatient, newObservation] = response.entry.map((e) => e.response.location.split('/_history')[0])
  const observation = await client.read({ resourceType: 'Observation', id: newObservation.split('/')[1] })
  assert.equal(observation.subject.reference, newPatient)

  const updated = await client.update({ resourceType: 'Patient', id: patient.id, body: { ...patient, gender: 'male' } })
  assert.equal(updated.meta.versionId, '2')
  await assert.rejects(client.read({ resourceType: 'Patient', id: 'no-such-patient' }), (error) => {
    assert.equal(error.response.status, 404)
    assert.equal(error.response.data.resourceType, 'OperationOutcome')
    return true
  })
})
