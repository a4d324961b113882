/* The engine's answers to inspect, list and stats: the first byte picks the
 * parser, the rest is the response body. */
#include "docker_api/container.h"
#include "docker_api/image.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vd_error err = VD_ERROR_INIT;
	char *json;

	if (size < 1)
		return 0;
	json = fuzz_cstr(data + 1, size - 1);
	if (!json)
		return 0;
	switch (data[0] % 5) {
	case 0: {
		vd_container_array list = { 0 };

		if (!vd_container_list_parse(json, &list, &err)) {
			for (size_t i = 0; i < list.len; i++) {
				char up[64];

				vd_container_summary_uptime(&list.items[i], up, sizeof(up));
			}
			vd_container_array_release(&list);
		}
		break;
	}
	case 1: {
		vd_container_info info;

		memset(&info, 0, sizeof(info));
		if (!vd_container_info_parse(json, &info, &err))
			vd_container_info_release(&info);
		break;
	}
	case 2: {
		vd_container_sample a, b;

		memset(&a, 0, sizeof(a));
		if (!vd_container_stats_parse(json, &a, &err)) {
			b = a;
			b.cpu_total += 7;
			b.system_cpu += 11;
			(void)vd_container_stats_mem_used(&a);
			(void)vd_container_stats_cpu_percent(&a, &b);
		}
		break;
	}
	case 3: {
		vd_image_info info;

		memset(&info, 0, sizeof(info));
		if (!vd_image_info_parse(json, &info, &err))
			vd_image_info_release(&info);
		break;
	}
	default: {
		vd_image_array list;

		memset(&list, 0, sizeof(list));
		if (!vd_image_list_parse(json, &list, &err))
			vd_image_array_release(&list);
		break;
	}
	}
	free(json);
	vd_error_release(&err);
	return 0;
}
