from tests.support.compose import use_compose_binary

use_compose_binary()
