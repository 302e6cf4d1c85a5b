// 长辈模式 (elderly mode): larger text and touch targets through Vant's theme CSS variables (styles.css,
// `html.elderly`), remembered on this device.
import { ref, watch } from 'vue'

const STORAGE_KEY = 'jizuo.h5.elderly'

export const elderly = ref(localStorage.getItem(STORAGE_KEY) === '1')

function apply(on: boolean): void {
  document.documentElement.classList.toggle('elderly', on)
}

watch(elderly, (on) => {
  localStorage.setItem(STORAGE_KEY, on ? '1' : '0')
  apply(on)
})

apply(elderly.value)
