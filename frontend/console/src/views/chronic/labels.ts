// Tag colours of chronic-care risk flags and alert kinds, shared by the workbench and the resident page.
type TagType = 'primary' | 'success' | 'warning' | 'danger' | 'info'

export function flagTag(flag: string): TagType {
  switch (flag) {
    case 'open_alert':
    case 'complication':
      return 'danger'
    case 'overdue':
    case 'unsatisfied':
    case 'adverse_reaction':
      return 'warning'
    default:
      return 'info'
  }
}

export function alertTag(status: string): TagType {
  return status === 'open' ? 'danger' : status === 'referred' ? 'primary' : 'info'
}

/** 0.4615 → "46.2%"; no denominator → "—". */
export function pct(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : `${Math.round(value * 1000) / 10}%`
}
