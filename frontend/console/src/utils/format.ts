// Date/time helpers. All staff-facing times are shown in Beijing time (Asia/Shanghai),
// whatever the browser's own time zone is.
export const TIME_ZONE = 'Asia/Shanghai'

const dateTimeFmt = new Intl.DateTimeFormat('zh-CN', {
  timeZone: TIME_ZONE,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
})

const dateFmt = new Intl.DateTimeFormat('zh-CN', {
  timeZone: TIME_ZONE,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
})

function parse(value: string | number | Date | null | undefined): Date | null {
  if (value === null || value === undefined || value === '') return null
  const d = value instanceof Date ? value : new Date(value)
  return Number.isNaN(d.getTime()) ? null : d
}

/** "2026/03/01 08:30:00" in Asia/Shanghai, or "—". */
export function formatDateTime(value: string | number | Date | null | undefined): string {
  const d = parse(value)
  return d ? dateTimeFmt.format(d) : '—'
}

/** "2026/03/01" in Asia/Shanghai, or "—". */
export function formatDate(value: string | number | Date | null | undefined): string {
  const d = parse(value)
  return d ? dateFmt.format(d) : '—'
}

/** Long date for greetings, localised. */
export function formatLongDate(locale: string, value: Date = new Date()): string {
  return new Intl.DateTimeFormat(locale, {
    timeZone: TIME_ZONE,
    year: 'numeric',
    month: 'long',
    day: 'numeric',
    weekday: 'long',
  }).format(value)
}

/** A picker value "YYYY-MM-DD HH:mm:ss" meant as Beijing time → ISO 8601 with offset. */
export function shanghaiToIso(wallClock: string | null | undefined): string | undefined {
  if (!wallClock) return undefined
  return `${wallClock.replace(' ', 'T')}+08:00`
}

/** The Beijing wall-clock of an instant as a local Date (so pickers show Beijing time). */
export function shanghaiWallClock(instant: Date = new Date()): Date {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: TIME_ZONE,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      hourCycle: 'h23',
    })
      .formatToParts(instant)
      .map((p) => [p.type, Number(p.value)]),
  ) as Record<string, number>
  return new Date(parts.year ?? 1970, (parts.month ?? 1) - 1, parts.day ?? 1, parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0)
}

export function percent(part: number, whole: number): string {
  if (!whole) return '0%'
  return `${((part / whole) * 100).toFixed(1)}%`
}

export function formatNumber(n: number | null | undefined): string {
  return typeof n === 'number' ? n.toLocaleString('zh-CN') : '—'
}
