import { ref, shallowRef, type Ref, type ShallowRef } from 'vue'
import type { Page } from '@/api/types'
import { notifyError } from '@/utils/errors'

export interface Paged<T, P extends Page<T>> {
  items: ShallowRef<T[]>
  total: Ref<number>
  page: Ref<number>
  pageSize: Ref<number>
  loading: Ref<boolean>
  loaded: Ref<boolean>
  last: ShallowRef<P | null>
  /** Reload the current page. */
  load: () => Promise<void>
  /** Go back to page 1 and reload (after a filter change). */
  search: () => Promise<void>
}

/** State for a server-paged table: `fetcher` receives page/page_size and returns a Page. */
export function usePaged<T, P extends Page<T> = Page<T>>(
  fetcher: (paging: { page: number; page_size: number }) => Promise<P>,
  initialPageSize = 20,
): Paged<T, P> {
  const items = shallowRef<T[]>([])
  const total = ref(0)
  const page = ref(1)
  const pageSize = ref(initialPageSize)
  const loading = ref(false)
  const loaded = ref(false)
  const last: ShallowRef<P | null> = shallowRef(null)
  let seq = 0

  async function load(): Promise<void> {
    const mine = ++seq
    loading.value = true
    try {
      const res = await fetcher({ page: page.value, page_size: pageSize.value })
      if (mine !== seq) return // a newer request superseded this one
      last.value = res
      items.value = res.items
      total.value = res.total
    } catch (err) {
      if (mine === seq) {
        items.value = []
        total.value = 0
        notifyError(err)
      }
    } finally {
      if (mine === seq) {
        loading.value = false
        loaded.value = true
      }
    }
  }

  async function search(): Promise<void> {
    page.value = 1
    await load()
  }

  return { items, total, page, pageSize, loading, loaded, last, load, search }
}
