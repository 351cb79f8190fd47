#include "containers/container.h"
