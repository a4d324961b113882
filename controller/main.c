#include "controller/cli.h"

int main(int argc, char **argv)
{
	return vd_cli_main(argc, argv);
}
