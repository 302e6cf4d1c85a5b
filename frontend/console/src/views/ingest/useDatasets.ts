// The data-set catalogue as the ingest pages need it: names for the picker and tables, column titles for
// receipts and the quarantine form, and the CSV template. Kept per browser tab: the catalogue changes rarely.
import { computed, ref, shallowRef } from 'vue'
import { fetchDatasetCatalogue, fetchDatasetColumns, type DatasetColumn, type DatasetSummary } from '@/api/ingest'
import { notifyError } from '@/utils/errors'

const catalogue = shallowRef<DatasetSummary[]>([])
const catalogueLoaded = ref(false)
const columnsByCode = shallowRef<Record<string, DatasetColumn[]>>({})
let pending: Promise<void> | null = null
const pendingColumns = new Map<string, Promise<DatasetColumn[]>>()

export function elementId(col: DatasetColumn): string {
  return typeof col.element === 'string' ? col.element : col.element.id
}

export function elementName(col: DatasetColumn): string | null {
  if (col.element_name) return col.element_name
  return typeof col.element === 'object' && col.element.name ? col.element.name : null
}

/** What a person calls the column: the data set's own label, else the data element's Chinese name. */
export function columnTitle(col: DatasetColumn): string {
  return col.label || elementName(col) || col.name
}

/**
 * Template header for each column. The server accepts a header that is the field name, element id, element
 * name or label — the first field claiming it wins — so a Chinese title shared by two fields would land in the
 * wrong one; such a column falls back to its unambiguous field name.
 */
export function templateHeaders(cols: DatasetColumn[]): string[] {
  const owner = new Map<string, string>()
  for (const c of cols) {
    for (const alias of [c.name, elementId(c), elementName(c), c.label]) {
      const key = alias?.trim().toLowerCase()
      if (key && !owner.has(key)) owner.set(key, c.name)
    }
  }
  return cols.map((c) => {
    const title = columnTitle(c)
    return owner.get(title.trim().toLowerCase()) === c.name ? title : c.name
  })
}

function csvCell(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

/** A header-only CSV, UTF-8 with a BOM so Excel on a zh-CN Windows opens the Chinese titles correctly. */
export function templateCsv(cols: DatasetColumn[]): Blob {
  const line = templateHeaders(cols).map(csvCell).join(',')
  return new Blob(['\uFEFF' + line + '\r\n'], { type: 'text/csv;charset=utf-8' })
}

export function useDatasets() {
  async function load(): Promise<void> {
    if (catalogueLoaded.value) return
    pending ??= fetchDatasetCatalogue()
      .then((list) => {
        catalogue.value = list
        catalogueLoaded.value = true
      })
      .catch((err) => notifyError(err))
      .finally(() => {
        pending = null
      })
    await pending
  }

  async function columns(code: string): Promise<DatasetColumn[]> {
    const known = columnsByCode.value[code]
    if (known) return known
    let request = pendingColumns.get(code)
    if (!request) {
      request = fetchDatasetColumns(code).then((d) => d.fields ?? [])
      pendingColumns.set(code, request)
    }
    try {
      const cols = await request
      columnsByCode.value = { ...columnsByCode.value, [code]: cols }
      return cols
    } finally {
      pendingColumns.delete(code)
    }
  }

  const nameOf = (code: string | null | undefined): string => {
    if (!code) return '—'
    return catalogue.value.find((d) => d.code === code)?.name ?? code
  }

  /** Title of a field of a data set whose columns were loaded; the raw field name otherwise. */
  const fieldTitle = (code: string | null | undefined, field: string | null | undefined): string => {
    if (!field) return ''
    const col = code ? columnsByCode.value[code]?.find((c) => c.name === field) : undefined
    return col ? columnTitle(col) : field
  }

  /** Data sets that accept data: a never-published draft has no rules to check against yet. */
  const uploadable = computed(() => catalogue.value.filter((d) => d.status !== 'draft'))

  return { catalogue, uploadable, catalogueLoaded, load, columns, nameOf, fieldTitle }
}
