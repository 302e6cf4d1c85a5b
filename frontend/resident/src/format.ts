// Dates in the resident's own time zone, short enough for a phone.
const pad = (n: number) => String(n).padStart(2, '0')

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`
}

export function day(iso: string | null | undefined): string {
  return iso ? iso.slice(0, 10) : '—'
}
